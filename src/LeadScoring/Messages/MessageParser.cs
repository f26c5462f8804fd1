using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LeadScoring.Messages;

/// <summary>The outcome of parsing one message.</summary>
public readonly struct MessageParseResult
{
    private MessageParseResult(LeadMessage? message, string? error, string? ignoredType)
    {
        Message = message;
        Error = error;
        IgnoredType = ignoredType;
    }

    /// <summary>The message, when it can be used.</summary>
    public LeadMessage? Message { get; }

    /// <summary>Why the message was rejected, when it was.</summary>
    public string? Error { get; }

    /// <summary>The type of a message that is valid but of a type the engine ignores (e.g. <c>screen</c>).</summary>
    public string? IgnoredType { get; }

    /// <summary>Whether the message was rejected.</summary>
    public bool IsRejected => Error is not null;

    /// <summary>Whether the message is of an ignored type.</summary>
    public bool IsIgnored => IgnoredType is not null;

    internal static MessageParseResult Ok(LeadMessage m) => new(m, null, null);

    /// <summary>A rejection with its reason, for a reader that refuses input before it is parsed (a line too long, a file in another format).</summary>
    public static MessageParseResult Reject(string reason) => new(null, reason ?? throw new ArgumentNullException(nameof(reason)), null);

    internal static MessageParseResult Ignore(string type) => new(null, null, type);
}

/// <summary>Parses Segment messages (spec 2.1) from JSON; every unusable message gets a reason, never an exception.</summary>
/// <remarks>
/// One forward pass of a <see cref="Utf8JsonReader"/> over the message's bytes: each token is checked against the
/// <see cref="MessageLimits"/>, the top-level fields are noted where they are, and <c>properties</c>, <c>context</c>
/// and <c>traits</c> are built into their trees as they are read. The fields are then checked in a fixed order, whatever
/// their order in the message, so a message with several problems always gets the same first reason. Nothing but the
/// message's own strings and values is allocated.
/// </remarks>
public static class MessageParser
{
    /// <summary>Longest accepted message, in bytes (1 MiB).</summary>
    public const int MaxMessageBytes = 1024 * 1024;

    private const string NotUnicode = "a string is not valid Unicode: ";

    // The top-level fields read, by index; their names as written in messages.
    private const int TypeField = 0, UserIdField = 1, AnonymousIdField = 2, MessageIdField = 3, TimestampField = 4,
        EventField = 5, NameField = 6, GroupIdField = 7, PreviousIdField = 8, ContextField = 9, PropertiesField = 10, TraitsField = 11;

    private const int FieldCount = 12;

    private static readonly string[] FieldNames =
        ["type", "userId", "anonymousId", "messageId", "timestamp", "event", "name", "groupId", "previousId", "context", "properties", "traits"];

    private static readonly byte[][] FieldNamesUtf8 = [.. FieldNames.Select(Encoding.UTF8.GetBytes)];

    /// <summary>Parses one message from UTF-8 JSON, within the default <see cref="MessageLimits"/>.</summary>
    public static MessageParseResult Parse(ReadOnlySpan<byte> utf8Json) => Parse(utf8Json, MessageLimits.Default);

    /// <summary>Parses one message from UTF-8 JSON within <paramref name="limits"/>: a message over a limit is rejected with the limit's name.</summary>
    public static MessageParseResult Parse(ReadOnlySpan<byte> utf8Json, MessageLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (utf8Json.Length > MaxMessageBytes)
        {
            return MessageParseResult.Reject($"the message is larger than {MaxMessageBytes} bytes");
        }

        Span<FieldPlace> fields = stackalloc FieldPlace[FieldCount];
        fields.Clear();
        var trees = default(Trees);
        var root = JsonTokenType.None;
        var walk = MessageLimits.StartWalk();
        var builder = DataValueBuilder.Rent();
        try
        {
            // The reader's own depth limit is above any MessageLimits.MaxDepth: the walk reports depth with its path.
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = MessageLimits.DepthCeiling + 2 });
            int field = -1;
            TypeHint hint = TypeHint.Unknown;
            while (reader.Read())
            {
                if (limits.Step(ref reader, utf8Json, ref walk) is { } problem)
                {
                    return MessageParseResult.Reject(problem);
                }

                var token = reader.TokenType;
                int depth = reader.CurrentDepth;
                if (depth == 0)
                {
                    if (root == JsonTokenType.None)
                    {
                        root = token;
                    }

                    continue;
                }

                if (root != JsonTokenType.StartObject)
                {
                    continue;
                }

                if (depth > 1)
                {
                    // Inside a top-level field's object or array: only the trees being built want it.
                    if (builder.IsOpen)
                    {
                        builder.Add(ref reader, token == JsonTokenType.PropertyName ? walk.Key : null, out _);
                    }

                    continue;
                }

                switch (token)
                {
                    case JsonTokenType.PropertyName:
                        field = FieldOf(ref reader, walk.Key);
                        break;
                    case JsonTokenType.EndObject:
                    case JsonTokenType.EndArray:
                        // The end of a top-level field's object or array.
                        if (field < 0)
                        {
                            break;
                        }

                        fields[field].End = (int)reader.TokenStartIndex + 1;
                        if (builder.IsOpen && builder.Add(ref reader, null, out var tree))
                        {
                            trees.Set(field, tree, builder.Error);
                            builder.Clear();
                        }

                        break;
                    default:
                        // A top-level field's value.
                        if (field < 0)
                        {
                            break;
                        }

                        int start = (int)reader.TokenStartIndex;
                        fields[field] = new FieldPlace
                        {
                            Token = token,
                            Start = start,
                            End = token == JsonTokenType.String ? start + reader.ValueSpan.Length + 2 : start + reader.ValueSpan.Length,
                        };
                        if (field == TypeField && token == JsonTokenType.String)
                        {
                            hint = Hint(reader.ValueIsEscaped ? default : reader.ValueSpan, reader.ValueIsEscaped);
                        }
                        else if (token == JsonTokenType.StartObject && IsTree(field) && Wanted(field, hint))
                        {
                            builder.Add(ref reader, null, out _);
                        }

                        break;
                }
            }
        }
        catch (JsonException ex)
        {
            return MessageParseResult.Reject("not valid JSON: " + ShortJsonMessage(ex));
        }
        catch (InvalidOperationException ex)
        {
            // A key that is not valid UTF-8, or escapes a lone surrogate (System.Text.Json refuses to decode it).
            return MessageParseResult.Reject(NotUnicode + ex.Message);
        }
        finally
        {
            walk.Dispose();
            DataValueBuilder.Return(builder);
        }

        return Check(utf8Json, root, fields, trees);
    }

    /// <summary>Parses one message from a JSON string.</summary>
    public static MessageParseResult Parse(string json) => Parse(Encoding.UTF8.GetBytes(json));

    internal static string ShortJsonMessage(JsonException ex)
    {
        string m = ex.Message;
        int cut = m.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? m[..cut] : m).TrimEnd('.', ' ');
    }

    /// <summary>Where a top-level field's value is in the message: its first token and its bytes (a string's with its quotes).</summary>
    private struct FieldPlace
    {
        /// <summary>The value's first token; <see cref="JsonTokenType.None"/> when the message has no such key.</summary>
        public JsonTokenType Token;
        public int Start;
        public int End;
    }

    /// <summary>The trees of <c>context</c>, <c>properties</c> and <c>traits</c>, each with the reason its text is not valid, if it is not.</summary>
    private struct Trees
    {
        public DataValue? Context, Properties, Traits;
        public string? ContextError, PropertiesError, TraitsError;

        public void Set(int field, DataValue? tree, string? error)
        {
            switch (field)
            {
                case ContextField: (Context, ContextError) = (tree, error); break;
                case PropertiesField: (Properties, PropertiesError) = (tree, error); break;
                default: (Traits, TraitsError) = (tree, error); break;
            }
        }

        public readonly (DataValue? Tree, string? Error) Get(int field) => field switch
        {
            ContextField => (Context, ContextError),
            PropertiesField => (Properties, PropertiesError),
            _ => (Traits, TraitsError),
        };
    }

    /// <summary>What the <c>type</c> read so far says about which trees the message will need.</summary>
    private enum TypeHint : byte
    {
        /// <summary>No type yet, or one that takes decoding to know: build every tree.</summary>
        Unknown,
        Identify,
        Track,
        Page,
        Group,
        Alias,
        /// <summary>A type the engine ignores: no tree is needed.</summary>
        Other,
    }

    private static bool IsTree(int field) => field is ContextField or PropertiesField or TraitsField;

    /// <summary>Whether the message, as far as its type tells, reads the tree of <paramref name="field"/>.</summary>
    private static bool Wanted(int field, TypeHint hint) => hint == TypeHint.Unknown || field switch
    {
        ContextField => hint != TypeHint.Other,
        PropertiesField => hint is TypeHint.Track or TypeHint.Page,
        _ => hint is TypeHint.Identify or TypeHint.Group,
    };

    /// <summary>The type named by an unescaped ASCII <c>type</c> value (compared as <see cref="string.ToLowerInvariant()"/> would); anything else is left to <see cref="Check"/>.</summary>
    private static TypeHint Hint(ReadOnlySpan<byte> text, bool escaped)
    {
        if (escaped || !Ascii.IsValid(text))
        {
            return TypeHint.Unknown;
        }

        return text.Length switch
        {
            8 when Ascii.EqualsIgnoreCase(text, "identify"u8) => TypeHint.Identify,
            5 when Ascii.EqualsIgnoreCase(text, "track"u8) => TypeHint.Track,
            4 when Ascii.EqualsIgnoreCase(text, "page"u8) => TypeHint.Page,
            5 when Ascii.EqualsIgnoreCase(text, "group"u8) => TypeHint.Group,
            5 when Ascii.EqualsIgnoreCase(text, "alias"u8) => TypeHint.Alias,
            _ => TypeHint.Other,
        };
    }

    /// <summary>Which field a top-level key names (matched exactly, as written once unescaped), or -1.</summary>
    private static int FieldOf(ref Utf8JsonReader reader, string? key)
    {
        ReadOnlySpan<byte> name = reader.ValueIsEscaped ? Encoding.UTF8.GetBytes(key ?? reader.GetString()!) : reader.ValueSpan;
        int candidate = name.Length switch
        {
            4 => name[0] == (byte)'t' ? TypeField : NameField,
            5 => EventField,
            6 => name[0] == (byte)'u' ? UserIdField : TraitsField,
            7 => name[0] == (byte)'g' ? GroupIdField : ContextField,
            9 => name[0] == (byte)'m' ? MessageIdField : TimestampField,
            10 => name[0] == (byte)'p' && name[1] == (byte)'r' && name[2] == (byte)'e' ? PreviousIdField : PropertiesField,
            11 => AnonymousIdField,
            _ => -1,
        };
        return candidate >= 0 && name.SequenceEqual(FieldNamesUtf8[candidate]) ? candidate : -1;
    }

    /// <summary>Checks the fields read, in a fixed order (the first problem is the reason), and makes the message.</summary>
    private static MessageParseResult Check(ReadOnlySpan<byte> json, JsonTokenType root, ReadOnlySpan<FieldPlace> fields, in Trees trees)
    {
        if (root != JsonTokenType.StartObject)
        {
            return MessageParseResult.Reject($"a message must be a JSON object, not {KindName(root)}");
        }

        var typeField = fields[TypeField];
        if (typeField.Token != JsonTokenType.String)
        {
            return MessageParseResult.Reject(typeField.Token == JsonTokenType.None ? "no 'type'" : "'type' must be a string");
        }

        MessageType type;
        switch (Hint(Inner(json, typeField), json[typeField.Start..typeField.End].IndexOf((byte)'\\') >= 0))
        {
            case TypeHint.Identify: type = MessageType.Identify; break;
            case TypeHint.Track: type = MessageType.Track; break;
            case TypeHint.Page: type = MessageType.Page; break;
            case TypeHint.Group: type = MessageType.Group; break;
            case TypeHint.Alias: type = MessageType.Alias; break;
            default:
                if (!TryDecode(json, typeField, out string typeName, out string? bad))
                {
                    return MessageParseResult.Reject(NotUnicode + bad);
                }

                switch (typeName.ToLowerInvariant())
                {
                    case "identify": type = MessageType.Identify; break;
                    case "track": type = MessageType.Track; break;
                    case "page": type = MessageType.Page; break;
                    case "group": type = MessageType.Group; break;
                    case "alias": type = MessageType.Alias; break;
                    default: return MessageParseResult.Ignore(typeName);
                }

                break;
        }

        if (!OptionalString(json, fields, UserIdField, out string? userId, out string? error) ||
            !OptionalString(json, fields, AnonymousIdField, out string? anonymousId, out error) ||
            !OptionalString(json, fields, MessageIdField, out string? messageId, out error))
        {
            return MessageParseResult.Reject(error!);
        }

        if (userId is null && anonymousId is null)
        {
            return MessageParseResult.Reject("no 'userId' or 'anonymousId'");
        }

        var ts = fields[TimestampField];
        if (ts.Token is JsonTokenType.None or JsonTokenType.Null)
        {
            return MessageParseResult.Reject("no 'timestamp'");
        }

        long ticks = 0;
        if (ts.Token != JsonTokenType.String || !TryTimestamp(json, ts, out ticks, out error))
        {
            if (error is not null)
            {
                return MessageParseResult.Reject(error);
            }

            var raw = json[ts.Start..ts.End];
            return System.Text.Unicode.Utf8.IsValid(raw)
                ? MessageParseResult.Reject($"bad 'timestamp' {Encoding.UTF8.GetString(raw)}: expected ISO 8601 with a UTC offset or Z, e.g. 2026-11-05T14:03:00Z")
                : MessageParseResult.Reject(NotUnicode + InvalidUtf8.Value);
        }

        string? eventName = null, name = null, groupId = null, previousId = null;
        switch (type)
        {
            case MessageType.Track:
                if (!OptionalString(json, fields, EventField, out eventName, out error))
                {
                    return MessageParseResult.Reject(error!);
                }

                if (eventName is null)
                {
                    return MessageParseResult.Reject("a track message without 'event'");
                }

                break;
            case MessageType.Page:
                if (!OptionalString(json, fields, NameField, out name, out error))
                {
                    return MessageParseResult.Reject(error!);
                }

                break;
            case MessageType.Group:
                if (!OptionalString(json, fields, GroupIdField, out groupId, out error))
                {
                    return MessageParseResult.Reject(error!);
                }

                if (groupId is null)
                {
                    return MessageParseResult.Reject("a group message without 'groupId'");
                }

                break;
            case MessageType.Alias:
                if (!OptionalString(json, fields, PreviousIdField, out previousId, out error))
                {
                    return MessageParseResult.Reject(error!);
                }

                if (previousId is null)
                {
                    return MessageParseResult.Reject("an alias message without 'previousId'");
                }

                if (userId is null)
                {
                    return MessageParseResult.Reject("an alias message without 'userId'");
                }

                break;
        }

        DataValue? properties = null, context = null, traits = null;
        if (!OptionalObject(fields, trees, ContextField, out context, out error))
        {
            return MessageParseResult.Reject(error!);
        }

        if (type is MessageType.Track or MessageType.Page && !OptionalObject(fields, trees, PropertiesField, out properties, out error))
        {
            return MessageParseResult.Reject(error!);
        }

        if (type is MessageType.Identify or MessageType.Group && !OptionalObject(fields, trees, TraitsField, out traits, out error))
        {
            return MessageParseResult.Reject(error!);
        }

        messageId ??= SyntheticId(json);
        return MessageParseResult.Ok(new LeadMessage(type, messageId, userId, anonymousId, ticks, eventName, name, groupId, previousId, properties, context, traits));
    }

    /// <summary>A stable id for a message that has none: its content's hash, so an exact copy is a duplicate.</summary>
    private static string SyntheticId(ReadOnlySpan<byte> raw)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(raw, hash);
        return "~" + Convert.ToHexString(hash[..16]).ToLowerInvariant();
    }

    /// <summary>A JSON value's kind in words, as <see cref="JsonValueKind"/> names it in lower case.</summary>
    private static string KindName(JsonTokenType token) => token switch
    {
        JsonTokenType.StartObject => "object",
        JsonTokenType.StartArray => "array",
        JsonTokenType.String => "string",
        JsonTokenType.Number => "number",
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        JsonTokenType.Null => "null",
        _ => "undefined",
    };

    /// <summary>A string field's bytes between its quotes, as written (escapes included).</summary>
    private static ReadOnlySpan<byte> Inner(ReadOnlySpan<byte> json, FieldPlace place) => json[(place.Start + 1)..(place.End - 1)];

    /// <summary>
    /// A string field's text, decoded when the message is checked (a field the message's type does not read is never
    /// decoded, so its text is not checked). False, with System.Text.Json's reason, for text that is not valid UTF-8 or
    /// escapes a lone surrogate.
    /// </summary>
    private static bool TryDecode(ReadOnlySpan<byte> json, FieldPlace place, out string text, out string? error)
    {
        error = null;
        var inner = Inner(json, place);
        if (inner.IndexOf((byte)'\\') < 0 && System.Text.Unicode.Utf8.IsValid(inner))
        {
            text = Encoding.UTF8.GetString(inner);
            return true;
        }

        // Escaped or not UTF-8: read the string token again on its own, so it decodes (or fails) as the reader decodes.
        var reader = new Utf8JsonReader(json[place.Start..place.End]);
        reader.Read();
        try
        {
            text = reader.GetString()!;
            return true;
        }
        catch (InvalidOperationException ex)
        {
            text = "";
            error = ex.Message;
            return false;
        }
    }

    /// <summary>The reason System.Text.Json gives for text that is not UTF-8 (asked once, so it reads as its other reasons do).</summary>
    private static readonly Lazy<string> InvalidUtf8 = new(() =>
    {
        var reader = new Utf8JsonReader(new byte[] { (byte)'"', 0xFF, (byte)'"' });
        try
        {
            reader.Read();
            return reader.GetString()!;
        }
        catch (InvalidOperationException ex)
        {
            return ex.Message;
        }
    });

    private static bool TryTimestamp(ReadOnlySpan<byte> json, FieldPlace place, out long ticks, out string? error)
    {
        error = null;
        var inner = Inner(json, place);
        if (inner.Length <= MaxTimestampLength && Ascii.IsValid(inner) && inner.IndexOf((byte)'\\') < 0)
        {
            // The usual case: plain ASCII, parsed from the bytes without a string.
            Span<char> chars = stackalloc char[MaxTimestampLength];
            for (int i = 0; i < inner.Length; i++)
            {
                chars[i] = (char)inner[i];
            }

            return TryParseTimestamp(chars[..inner.Length], out ticks);
        }

        if (!TryDecode(json, place, out string text, out string? bad))
        {
            ticks = 0;
            error = NotUnicode + bad;
            return false;
        }

        return TryParseTimestamp(text, out ticks);
    }

    private static bool OptionalString(ReadOnlySpan<byte> json, ReadOnlySpan<FieldPlace> fields, int field, out string? value, out string? error)
    {
        value = null;
        error = null;
        var place = fields[field];
        if (place.Token is JsonTokenType.None or JsonTokenType.Null)
        {
            return true;
        }

        if (place.Token != JsonTokenType.String)
        {
            error = $"'{FieldNames[field]}' must be a string, not {KindName(place.Token)}";
            return false;
        }

        if (!TryDecode(json, place, out string s, out string? bad))
        {
            error = NotUnicode + bad;
            return false;
        }

        value = s.Length == 0 ? null : s;
        return true;
    }

    private static bool OptionalObject(ReadOnlySpan<FieldPlace> fields, in Trees trees, int field, out DataValue? value, out string? error)
    {
        value = null;
        error = null;
        var place = fields[field];
        if (place.Token is JsonTokenType.None or JsonTokenType.Null)
        {
            return true;
        }

        if (place.Token != JsonTokenType.StartObject)
        {
            error = $"'{FieldNames[field]}' must be an object, not {KindName(place.Token)}";
            return false;
        }

        (value, string? bad) = trees.Get(field);
        if (bad is not null)
        {
            value = null;
            error = NotUnicode + bad;
            return false;
        }

        Debug.Assert(value is not null, "a tree the message's type reads is always built");
        return true;
    }

    private const int MaxTimestampLength = 40;

    /// <summary>
    /// Parses ISO 8601 with a mandatory offset: <c>yyyy-MM-ddTHH:mm:ss[.fffffff](Z|±HH:mm|±HHmm)</c>.
    /// A time without an offset is refused: it names no instant.
    /// </summary>
    public static bool TryParseTimestamp(string text, out long utcTicks) => TryParseTimestamp(text.AsSpan(), out utcTicks);

    /// <summary>The same as <see cref="TryParseTimestamp(string, out long)"/>, on characters: the formats accepted are the same.</summary>
    internal static bool TryParseTimestamp(ReadOnlySpan<char> text, out long utcTicks)
    {
        utcTicks = 0;
        if (text.Length < 17 || text.Length > MaxTimestampLength)
        {
            return false;
        }

        Span<char> upper = stackalloc char[MaxTimestampLength];
        scoped ReadOnlySpan<char> t = text;
        if (t[^1] == 'z')
        {
            text.CopyTo(upper);
            upper[text.Length - 1] = 'Z';
            t = upper[..text.Length];
        }

        if (TryParseUtcSeconds(t, out utcTicks))
        {
            return true;
        }

        char last = t[^1];
        bool hasOffset = last is 'Z' ||
            (t.Length >= 25 && t[^6] is '+' or '-' && t[^3] == ':') ||
            (t.Length >= 24 && t[^5] is '+' or '-' && char.IsAsciiDigit(t[^4]));
        if (!hasOffset || t[10] is not ('T' or 't'))
        {
            return false;
        }

        if (!DateTimeOffset.TryParseExact(t, Formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var dto))
        {
            return false;
        }

        utcTicks = dto.UtcTicks;
        return true;
    }

    /// <summary>
    /// The most common form, <c>yyyy-MM-ddTHH:mm:ssZ</c> with a valid date and a time up to 23:59:59, read digit by
    /// digit; anything else (including what this would refuse) is left to the formats, so what is accepted and its
    /// value are the same as with the formats alone.
    /// </summary>
    private static bool TryParseUtcSeconds(ReadOnlySpan<char> t, out long utcTicks)
    {
        utcTicks = 0;
        if (t.Length != 20 || t[4] != '-' || t[7] != '-' || t[10] is not ('T' or 't') || t[13] != ':' || t[16] != ':' || t[19] != 'Z')
        {
            return false;
        }

        if (!TryDigits(t.Slice(0, 4), out int year) || !TryDigits(t.Slice(5, 2), out int month) || !TryDigits(t.Slice(8, 2), out int day) ||
            !TryDigits(t.Slice(11, 2), out int hour) || !TryDigits(t.Slice(14, 2), out int minute) || !TryDigits(t.Slice(17, 2), out int second))
        {
            return false;
        }

        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            return false;
        }

        utcTicks = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).Ticks;
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<char> digits, out int value)
    {
        value = 0;
        foreach (char c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }

            value = (value * 10) + (c - '0');
        }

        return true;
    }

    private static readonly string[] Formats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd't'HH:mm:ssK", "yyyy-MM-dd't'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mm:sszzz", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz",
        "yyyy-MM-dd'T'HH:mm:sszz00", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzz00",
        "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd't'HH:mmK", "yyyy-MM-dd'T'HH:mmzzz",
    ];
}
