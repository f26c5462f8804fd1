using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace LeadScoring.Messages;

/// <summary>
/// Builds <see cref="DataValue"/> trees from the tokens of a <see cref="Utf8JsonReader"/>, as the reader meets them:
/// no recursion and no intermediate document. Open containers keep their keys and values on shared lists, and each
/// container takes its own slice when it closes, so a tree costs time linear in its tokens (an object of 95,000 keys
/// too) and allocates only the tree. The one place that turns JSON into <see cref="DataValue"/>s: the message
/// parser feeds it the tokens of <c>properties</c>, <c>context</c> and <c>traits</c>, and
/// <see cref="Read(ReadOnlySpan{byte})"/> reads a whole value.
/// </summary>
/// <remarks>
/// A string that is not valid UTF-8 or Unicode (a lone surrogate escape) does not throw: the first one's reason is
/// kept in <see cref="Error"/> and the tree is built on, so the caller decides whether it matters (a message field that
/// is not read is not checked). JSON <c>null</c> is kept in objects (<see cref="DataValue.Null"/>: it removes a trait)
/// and dropped from arrays. A number that is not a finite double keeps its text as a string. Repeated keys are not
/// looked for: the message reader refuses them before (see <see cref="MessageLimits"/>).
/// </remarks>
internal sealed class DataValueBuilder
{
    /// <summary>Past this many slots, the shared lists are let go when the builder is returned rather than kept for the thread.</summary>
    private const int KeptCapacity = 4096;

    [ThreadStatic]
    private static DataValueBuilder? t_spare;

    private readonly List<string> _keys = [];
    private readonly List<DataValue> _values = [];
    private readonly List<Open> _open = [];

    private readonly record struct Open(bool IsObject, int KeyBase, int ValueBase);

    /// <summary>Whether a key repeated in an object keeps its last value (for <see cref="Read"/>); messages refuse repeated keys before.</summary>
    private bool _lastKeyWins;

    /// <summary>Why the tree being built is not valid text: the first string that could not be decoded; null when all could.</summary>
    public string? Error { get; private set; }

    /// <summary>Whether a container is open (the tree is not finished).</summary>
    public bool IsOpen => _open.Count > 0;

    /// <summary>A builder for this thread; give it back with <see cref="Return"/>.</summary>
    public static DataValueBuilder Rent()
    {
        var builder = t_spare ?? new DataValueBuilder();
        t_spare = null;
        return builder;
    }

    /// <summary>Gives a builder back for the thread's next message, emptied.</summary>
    public static void Return(DataValueBuilder builder)
    {
        builder.Clear();
        t_spare = builder;
    }

    /// <summary>Empties the builder (after a tree, or a message given up half way).</summary>
    public void Clear()
    {
        Error = null;
        _lastKeyWins = false;
        _open.Clear();
        _keys.Clear();
        _values.Clear();
        if (_values.Capacity > KeptCapacity || _keys.Capacity > KeptCapacity)
        {
            _keys.Capacity = 0;
            _values.Capacity = 0;
        }
    }

    /// <summary>
    /// Takes the token <paramref name="reader"/> is on. Returns true when it completes a value at the top (a container
    /// closing, or a primitive when none is open), with that value in <paramref name="value"/> (null for JSON null);
    /// then check <see cref="Error"/>. <paramref name="key"/> is a property name's text when the caller has it already.
    /// </summary>
    public bool Add(ref Utf8JsonReader reader, string? key, out DataValue? value)
    {
        value = null;
        switch (reader.TokenType)
        {
            case JsonTokenType.PropertyName:
                _keys.Add(key ?? reader.GetString()!);
                return false;
            case JsonTokenType.StartObject:
                _open.Add(new Open(true, _keys.Count, _values.Count));
                return false;
            case JsonTokenType.StartArray:
                _open.Add(new Open(false, _keys.Count, _values.Count));
                return false;
            case JsonTokenType.EndObject:
            case JsonTokenType.EndArray:
                var open = _open[^1];
                _open.RemoveAt(_open.Count - 1);
                var container = open.IsObject
                    ? Object(Take(_keys, open.KeyBase), Take(_values, open.ValueBase))
                    : new DataValue { Kind = DataKind.Array, Items = Take(_values, open.ValueBase) };
                return Complete(container, out value);
            case JsonTokenType.String:
                return Complete(ReadString(ref reader), out value);
            case JsonTokenType.Number:
                return Complete(ReadNumber(ref reader), out value);
            case JsonTokenType.True:
                return Complete(DataValue.True, out value);
            case JsonTokenType.False:
                return Complete(DataValue.False, out value);
            case JsonTokenType.Null:
                return Complete(DataValue.Null, out value);
            default:
                return false; // comments: not allowed by the readers that feed this
        }
    }

    /// <summary>
    /// Reads one whole JSON value (no limits: for values a program hands over, such as a <see cref="JsonElement"/> in a
    /// message's properties). Null for JSON null; throws <see cref="InvalidOperationException"/> for text that is not
    /// valid Unicode, and <see cref="JsonException"/> for malformed JSON.
    /// </summary>
    public static DataValue? Read(ReadOnlySpan<byte> utf8Json)
    {
        var builder = Rent();
        builder._lastKeyWins = true;
        try
        {
            var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = int.MaxValue });
            DataValue? value = null;
            while (reader.Read())
            {
                if (builder.Add(ref reader, null, out var done))
                {
                    value = done;
                }
            }

            return builder.Error is { } error ? throw new InvalidOperationException(error) : value;
        }
        finally
        {
            Return(builder);
        }
    }

    /// <summary>Places a finished value: in the open container (JSON null is dropped from arrays), or at the top.</summary>
    private bool Complete(DataValue v, out DataValue? value)
    {
        value = null;
        if (_open.Count == 0)
        {
            value = v.Kind == DataKind.Null ? null : v;
            return true;
        }

        if (v.Kind != DataKind.Null || _open[^1].IsObject)
        {
            _values.Add(v);
        }

        return false;
    }

    private DataValue ReadString(ref Utf8JsonReader reader)
    {
        try
        {
            return DataValue.FromString(reader.GetString()!);
        }
        catch (InvalidOperationException ex)
        {
            // Not valid UTF-8, or a lone surrogate escape: System.Text.Json's reason, kept for the caller.
            Error ??= ex.Message;
            return DataValue.Null;
        }
    }

    private static DataValue ReadNumber(ref Utf8JsonReader reader)
    {
        // Numbers are ASCII: their text is their bytes.
        string text = Encoding.UTF8.GetString(reader.ValueSpan);
        return reader.TryGetDouble(out double d) && double.IsFinite(d)
            ? DataValue.FromNumber(d, text)
            : DataValue.FromString(text, double.NaN);
    }

    private DataValue Object(string[] keys, DataValue[] values)
    {
        if (_lastKeyWins && keys.Length > 1)
        {
            (keys, values) = LastWins(keys, values);
        }

        return new DataValue { Kind = DataKind.Object, Keys = keys, Values = values };
    }

    /// <summary>An object's keys once each, in the order they first appear, each with its last value; linear in the keys.</summary>
    private static (string[] Keys, DataValue[] Values) LastWins(string[] keys, DataValue[] values)
    {
        var index = new Dictionary<string, int>(keys.Length, StringComparer.Ordinal);
        var outKeys = new List<string>(keys.Length);
        var outValues = new List<DataValue>(keys.Length);
        for (int i = 0; i < keys.Length; i++)
        {
            if (index.TryGetValue(keys[i], out int at))
            {
                outValues[at] = values[i];
                continue;
            }

            index[keys[i]] = outKeys.Count;
            outKeys.Add(keys[i]);
            outValues.Add(values[i]);
        }

        return outKeys.Count == keys.Length ? (keys, values) : ([.. outKeys], [.. outValues]);
    }

    /// <summary>The items of <paramref name="list"/> from <paramref name="start"/> on, removed from it.</summary>
    private static T[] Take<T>(List<T> list, int start)
    {
        var items = CollectionsMarshal.AsSpan(list)[start..].ToArray();
        list.RemoveRange(start, list.Count - start);
        return items;
    }
}
