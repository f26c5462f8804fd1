using System.Buffers;
using System.Text.Json;
using System.Text.Unicode;
using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>
/// The JSON fast path: an in-order <c>track</c>, <c>page</c> or <c>identify</c> message of a lead known by its user id
/// (or the identify of a new lead), in the common shape, is read with <see cref="Utf8JsonReader"/> straight into the
/// lead's row: ids, event names and the message fields the rules
/// test are looked up as spans, without building a <see cref="LeadMessage"/>. Anything else, or anything unusual
/// (escaped strings, a repeated key, a value of an unexpected kind, a timestamp not in the plain UTC form, a new lead,
/// an anonymous id to link), falls back to <see cref="MessageParser"/> and <see cref="Apply(LeadMessage)"/> before
/// anything is changed, so both paths accept, reject and score exactly the same lines.
/// </summary>
public sealed partial class LeadScorer
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    private char[] _chars = new char[512];

    /// <summary>Lines applied by the JSON fast path (for tests and diagnostics).</summary>
    internal long FastJsonLines { get; private set; }
    private int[]? _fieldStart;
    private int[]? _fieldLength;

    private bool TryApplyFast(ReadOnlySpan<byte> json, out ApplyOutcome outcome)
    {
        outcome = ApplyOutcome.Applied;
        var plan = _plan!;
        if (json.Length > MessageParser.MaxMessageBytes || !plan.JsonReady)
        {
            return false;
        }

        var fields = plan.Fields;
        var fieldStart = _fieldStart ??= new int[fields.Length];
        var fieldLength = _fieldLength ??= new int[fields.Length];
        fieldStart.AsSpan().Fill(-1); // -1: missing or null
        fieldLength.AsSpan().Clear();  // -2: present and null
        ReadOnlySpan<byte> type = default, messageId = default, userId = default, anonymousId = default, timestamp = default, eventName = default;
        int seen = 0;
        try
        {
            var reader = new Utf8JsonReader(json, ReaderOptions);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueIsEscaped)
                {
                    return false;
                }

                var name = reader.ValueSpan;
                reader.Read();
                int key = name.SequenceEqual("type"u8) ? 1
                    : name.SequenceEqual("messageId"u8) ? 2
                    : name.SequenceEqual("userId"u8) ? 3
                    : name.SequenceEqual("anonymousId"u8) ? 4
                    : name.SequenceEqual("timestamp"u8) ? 5
                    : name.SequenceEqual("event"u8) ? 6
                    : name.SequenceEqual("name"u8) ? 7
                    : name.SequenceEqual("properties"u8) ? 8
                    : name.SequenceEqual("context"u8) ? 9
                    : name.SequenceEqual("traits"u8) ? 10
                    : 0;
                if (key == 0)
                {
                    reader.Skip();
                    continue;
                }

                if ((seen & (1 << key)) != 0)
                {
                    return false;
                }

                seen |= 1 << key;
                if (key == 10)
                {
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        continue;
                    }

                    if (reader.TokenType != JsonTokenType.StartObject || !ReadTraits(ref reader))
                    {
                        return false;
                    }

                    continue;
                }

                if (key is 8 or 9)
                {
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        continue;
                    }

                    if (reader.TokenType != JsonTokenType.StartObject || !ReadFields(ref reader, key == 8 ? FieldRoot.Properties : FieldRoot.Context, fields, fieldStart, fieldLength))
                    {
                        return false;
                    }

                    continue;
                }

                if (reader.TokenType == JsonTokenType.Null)
                {
                    continue;
                }

                if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped || (key == 7 && !Utf8.IsValid(reader.ValueSpan)))
                {
                    return false;
                }

                var value = reader.ValueSpan;
                switch (key)
                {
                    case 1: type = value; break;
                    case 2: messageId = value; break;
                    case 3: userId = value; break;
                    case 4: anonymousId = value; break;
                    case 5: timestamp = value; break;
                    case 6: eventName = value; break;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
            {
                return false;
            }
        }
        catch (JsonException)
        {
            return false;
        }

        bool track = type.SequenceEqual("track"u8);
        bool identify = !track && type.SequenceEqual("identify"u8);
        if (!track && !identify && !type.SequenceEqual("page"u8))
        {
            return false;
        }

        if (identify && (seen & (1 << 10)) == 0)
        {
            _traitCount = 0;
        }

        if (messageId.IsEmpty || userId.IsEmpty || (track && eventName.IsEmpty) ||
            (seen & (1 << 4)) != 0 && anonymousId.IsEmpty || !TryParseUtc(timestamp, out long t))
        {
            return false;
        }

        if (_chars.Length < json.Length)
        {
            _chars = new char[Math.Max(json.Length, _chars.Length * 2)];
        }

        var chars = _chars.AsSpan();
        int used = 0;
        if (!Decode(userId, chars, ref used, out var user))
        {
            return false;
        }

        int row = _ids.Find(user, IdTable.Hash(user));
        if (identify)
        {
            return (seen & (1 << 4)) == 0 && TryIdentify(json, row, user, messageId, chars, ref used, t);
        }

        if (row < 0)
        {
            return false;
        }

        ref HotRow r = ref _hot[row];
        if (r.UserId is null || !user.SequenceEqual(r.UserId) || t <= r.LastTicks)
        {
            return false;
        }

        if (!anonymousId.IsEmpty && (_rows[row].AnonymousId is null || !Decode(anonymousId, chars, ref used, out var anonymous) || !anonymous.SequenceEqual(_rows[row].AnonymousId)))
        {
            return false;
        }

        if (!Decode(messageId, chars, ref used, out var id) || (r.LastIdKey == IdKey(id) && SameLastId(ref r, id)))
        {
            return false;
        }

        FastRuleSet? set = plan.Page;
        if (track)
        {
            if (!Decode(eventName, chars, ref used, out var eventChars))
            {
                return false;
            }

#if NET9_0_OR_GREATER
            if (!plan.EventsBySpan.TryGetValue(eventChars, out set))
#else
            if (!plan.Events.TryGetValue(eventChars.ToString(), out set))
#endif
            {
                set = null;
            }
        }

        ulong messageBits = 0;
        if (set is not null)
        {
            foreach (var field in set.Fields)
            {
                int f = field.Index;
                if (fieldStart[f] < 0)
                {
                    messageBits |= field.MissingBits();
                    continue;
                }

                if (!Decode(json.Slice(fieldStart[f], fieldLength[f]), chars, ref used, out var text))
                {
                    return false;
                }

                messageBits |= field.Bits(text);
            }
        }

        // From here on the message is applied: nothing above changed the lead.
        if (set is not null)
        {
            ApplyRules(row, r.TraitBits, set, messageBits, t);
        }

        r.LastTicks = t;
        SetLastId(ref r, id);
        r.MessageCount++;
        r.UserIdAtLast = true;
        Statistics.Applied++;
        FastJsonLines++;
        return true;
    }

    /// <summary>
    /// An identify of a new lead, or the next message of a known one, by user id alone: its traits merge into the
    /// row (spec 2.3) from the values <see cref="ReadTraits"/> noted, pooled, without a <see cref="LeadMessage"/>.
    /// </summary>
    private bool TryIdentify(ReadOnlySpan<byte> json, int row, ReadOnlySpan<char> user, ReadOnlySpan<byte> messageIdBytes, Span<char> chars, ref int used, long t)
    {
        if (row >= 0)
        {
            ref HotRow known = ref _hot[row];
            if (known.UserId is null || !user.SequenceEqual(known.UserId) || t <= known.LastTicks)
            {
                return false;
            }
        }

        if (!Decode(messageIdBytes, chars, ref used, out var id) || (row >= 0 && SameLastId(ref _hot[row], id)))
        {
            return false;
        }

        // Decode every trait before changing anything: invalid UTF-8 goes to the parser.
        int start = used;
        for (int i = 0; i < _traitCount; i++)
        {
            if (!Decode(json.Slice(_traitKeyStart[i], _traitKeyLength[i]), chars, ref used, out var k))
            {
                return false;
            }

            _traitKeyChars[i] = k.Length;
            if (_traitKind[i] == DataKind.String)
            {
                if (!Decode(json.Slice(_traitValueStart[i], _traitValueLength[i]), chars, ref used, out var v))
                {
                    return false;
                }

                _traitValueChars[i] = v.Length;
            }
        }

        string userId;
        if (row < 0)
        {
            userId = user.ToString();
            row = NewRow(userId);
            _ids.Set(userId, row);
        }
        else
        {
            userId = _hot[row].UserId!;
        }

        ref HotRow r = ref _hot[row];
        ref ColdRow cold = ref _rows[row];
        if (_traitCount > 0)
        {
            var merged = new List<KeyValuePair<string, DataValue>>((cold.Traits?.Length ?? 0) + _traitCount);
            merged.AddRange(cold.Traits ?? []);
            int at = start;
            for (int i = 0; i < _traitCount; i++)
            {
                var key = chars.Slice(at, _traitKeyChars[i]);
                at += key.Length;
                DataValue? value = null;
                switch (_traitKind[i])
                {
                    case DataKind.String:
                        var text = chars.Slice(at, _traitValueChars[i]);
                        at += text.Length;
                        value = PoolString(text);
                        break;
                    case DataKind.Number:
                        value = PoolNumber(json.Slice(_traitValueStart[i], _traitValueLength[i]), _traitNumber[i]);
                        break;
                    case DataKind.True:
                        value = DataValue.True;
                        break;
                    case DataKind.False:
                        value = DataValue.False;
                        break;
                }

                SetTrait(merged, key, null, value);
            }

            cold.Traits = merged.Count == 0 ? null : [.. merged];
            r.TraitBits = TraitBitsOf(cold.Traits);
        }

        r.LastTicks = t;
        SetLastId(ref r, id);
        r.UserId = userId;
        r.UserIdAtLast = true;
        r.MessageCount++;
        Statistics.Applied++;
        FastJsonLines++;
        return true;
    }

    // Where ReadTraits found each trait of the current line, and the lengths TryIdentify decoded them to.
    private readonly int[] _traitKeyStart = new int[16];
    private readonly int[] _traitKeyLength = new int[16];
    private readonly int[] _traitKeyChars = new int[16];
    private readonly DataKind[] _traitKind = new DataKind[16];
    private readonly int[] _traitValueStart = new int[16];
    private readonly int[] _traitValueLength = new int[16];
    private readonly int[] _traitValueChars = new int[16];
    private readonly double[] _traitNumber = new double[16];
    private int _traitCount;

    /// <summary>
    /// Notes where an identify's traits are: flat values only (strings, finite numbers, booleans, null), no escapes.
    /// Anything else (nested objects, arrays, escaped text, more than 16 traits) goes to the parser.
    /// </summary>
    private bool ReadTraits(ref Utf8JsonReader reader)
    {
        _traitCount = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueIsEscaped || _traitCount == _traitKind.Length)
            {
                return false;
            }

            int i = _traitCount;
            _traitKeyStart[i] = (int)reader.TokenStartIndex + 1;
            _traitKeyLength[i] = reader.ValueSpan.Length;
            reader.Read();
            switch (reader.TokenType)
            {
                case JsonTokenType.String when !reader.ValueIsEscaped:
                    _traitKind[i] = DataKind.String;
                    _traitValueStart[i] = (int)reader.TokenStartIndex + 1;
                    _traitValueLength[i] = reader.ValueSpan.Length;
                    break;
                case JsonTokenType.Number:
                    if (!reader.TryGetDouble(out double d) || !double.IsFinite(d))
                    {
                        return false;
                    }

                    _traitKind[i] = DataKind.Number;
                    _traitNumber[i] = d;
                    _traitValueStart[i] = (int)reader.TokenStartIndex;
                    _traitValueLength[i] = reader.ValueSpan.Length;
                    break;
                case JsonTokenType.True:
                    _traitKind[i] = DataKind.True;
                    break;
                case JsonTokenType.False:
                    _traitKind[i] = DataKind.False;
                    break;
                case JsonTokenType.Null:
                    _traitKind[i] = DataKind.Null;
                    break;
                default:
                    return false;
            }

            _traitCount++;
        }

        return reader.TokenType == JsonTokenType.EndObject;
    }

    /// <summary>Reads a <c>properties</c> or <c>context</c> object, noting where the rules' fields are.</summary>
    private static bool ReadFields(ref Utf8JsonReader reader, FieldRoot root, MessageField[] fields, int[] fieldStart, int[] fieldLength)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int f = -1;
            for (int i = 0; i < fields.Length; i++)
            {
                if (fields[i].Path.Root == root && reader.ValueTextEquals(fields[i].Path.Segments[0]))
                {
                    f = i;
                    break;
                }
            }

            // The parser decodes every name and string of these objects and rejects text that is not Unicode.
            bool escapedName = reader.ValueIsEscaped;
            if (escapedName || !Utf8.IsValid(reader.ValueSpan))
            {
                return false; // an escaped name might spell a field's name; let the parser decide
            }

            reader.Read();
            if (f < 0)
            {
                if (!SkipValid(ref reader))
                {
                    return false;
                }

                continue;
            }

            if (fieldStart[f] != -1 || fieldLength[f] == -2)
            {
                return false; // a repeated key
            }

            if (reader.TokenType == JsonTokenType.Null)
            {
                fieldLength[f] = -2;
                continue;
            }

            if (reader.TokenType != JsonTokenType.String || reader.ValueIsEscaped)
            {
                return false;
            }

            if (!Utf8.IsValid(reader.ValueSpan))
            {
                return false;
            }

            fieldStart[f] = (int)reader.TokenStartIndex + 1;
            fieldLength[f] = reader.ValueSpan.Length;
        }

        return reader.TokenType == JsonTokenType.EndObject;
    }

    /// <summary>
    /// Skips the value the reader is on, checking that every name and string in it is text the parser can decode:
    /// valid UTF-8, and no escape that decodes to a lone surrogate.
    /// </summary>
    private static bool SkipValid(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return reader.TokenType != JsonTokenType.String || ValidText(ref reader);
        }

        int depth = reader.CurrentDepth;
        while (reader.Read() && reader.CurrentDepth > depth)
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && !ValidText(ref reader))
            {
                return false;
            }
        }

        return true;
    }

    private static bool ValidText(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            return Utf8.IsValid(reader.ValueSpan);
        }

        char[] buffer = ArrayPool<char>.Shared.Rent(reader.ValueSpan.Length);
        try
        {
            reader.CopyString(buffer);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    /// <summary>UTF-8 to UTF-16 into <paramref name="buffer"/>; false on invalid UTF-8 (the parser rejects it).</summary>
    private static bool Decode(ReadOnlySpan<byte> utf8, Span<char> buffer, ref int used, out ReadOnlySpan<char> chars)
    {
        var target = buffer[used..];
        if (Utf8.ToUtf16(utf8, target, out _, out int written, replaceInvalidSequences: false) != OperationStatus.Done)
        {
            chars = default;
            return false;
        }

        chars = target[..written];
        used += written;
        return true;
    }

    /// <summary>
    /// <c>yyyy-MM-ddTHH:mm:ss[.f…]Z</c>, the form Segment libraries write. Any other form (offsets, lower-case
    /// letters, minutes only) is left to <see cref="MessageParser.TryParseTimestamp"/>.
    /// </summary>
    internal static bool TryParseUtc(ReadOnlySpan<byte> s, out long ticks)
    {
        ticks = 0;
        if (s.Length < 20 || s.Length > 28 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[^1] != 'Z')
        {
            return false;
        }

        if (!Digits(s, 0, 4, out int year) || !Digits(s, 5, 2, out int month) || !Digits(s, 8, 2, out int day) ||
            !Digits(s, 11, 2, out int hour) || !Digits(s, 14, 2, out int minute) || !Digits(s, 17, 2, out int second))
        {
            return false;
        }

        long fraction = 0;
        if (s.Length > 20)
        {
            int digits = s.Length - 21;
            if (s[19] != '.' || digits < 1 || !Digits(s, 20, digits, out int f))
            {
                return false;
            }

            fraction = f;
            for (int i = digits; i < 7; i++)
            {
                fraction *= 10;
            }
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        ticks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).Ticks + fraction;
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> s, int start, int count, out int value)
    {
        value = 0;
        for (int i = start; i < start + count; i++)
        {
            int d = s[i] - '0';
            if ((uint)d > 9)
            {
                return false;
            }

            value = (value * 10) + d;
        }

        return true;
    }
}
