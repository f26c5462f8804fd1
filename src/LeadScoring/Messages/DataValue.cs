using System.Globalization;
using System.Text.Json;
using LeadScoring.Engine;

namespace LeadScoring.Messages;

internal enum DataKind : byte
{
    String,
    Number,
    True,
    False,
    Object,
    Array,
    /// <summary>JSON null: kept in objects so an identify can remove a trait; reads as missing.</summary>
    Null,
}

/// <summary>
/// A JSON value of a message, parsed once: strings carry their invariant-culture number (or NaN), objects their keys
/// and values side by side, so conditions compare without allocating. JSON <c>null</c> is never stored: it means missing.
/// </summary>
internal sealed class DataValue
{
    public static readonly DataValue True = new() { Kind = DataKind.True };
    public static readonly DataValue False = new() { Kind = DataKind.False };
    public static readonly DataValue Null = new() { Kind = DataKind.Null };

    public DataKind Kind;
    public string? Text;
    /// <summary>The number, or NaN where the value is not numeric (a string that does not parse, a boolean...).</summary>
    public double Number = double.NaN;
    public string[]? Keys;
    public DataValue[]? Values;
    public DataValue[]? Items;

    /// <summary>
    /// For a string, the seeded hash of its characters that the engine's memo of per-value rule bits looks values up
    /// by (<see cref="MemoTable.Hash"/>), worked out when the value is made, while its characters are in the cache:
    /// scoring a message then reads them once more only to confirm a match. 0 for other kinds.
    /// </summary>
    public int TextHash;

    public static DataValue FromString(string s) => FromString(s, ParseNumber(s));

    /// <summary>A string value whose number (or NaN) is already known.</summary>
    public static DataValue FromString(string s, double number) =>
        new() { Kind = DataKind.String, Text = s, Number = number, TextHash = MemoTable.Hash(s) };

    public static DataValue FromNumber(double d, string? text = null) =>
        new() { Kind = DataKind.Number, Number = d, Text = text ?? d.ToString("R", CultureInfo.InvariantCulture) };

    public static double ParseNumber(string s) =>
        double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d) ? d : double.NaN;

    public DataValue? Get(string key)
    {
        if (Kind != DataKind.Object)
        {
            return null;
        }

        var keys = Keys!;
        for (int i = 0; i < keys.Length; i++)
        {
            if (string.Equals(keys[i], key, StringComparison.Ordinal))
            {
                var v = Values![i];
                return v.Kind == DataKind.Null ? null : v;
            }
        }

        return null;
    }

    /// <summary>The text used where a value is compared as a string: strings as they are, numbers and booleans as JSON writes them.</summary>
    public string? AsText => Kind switch
    {
        DataKind.String or DataKind.Number => Text,
        DataKind.True => "true",
        DataKind.False => "false",
        _ => null,
    };

    public static DataValue? FromObject(IReadOnlyDictionary<string, object?>? values)
    {
        if (values is null)
        {
            return null;
        }

        var keys = new List<string>();
        var items = new List<DataValue>();
        foreach (var (k, v) in values)
        {
            keys.Add(k);
            items.Add(FromClr(v) ?? Null);
        }

        return new DataValue { Kind = DataKind.Object, Keys = [.. keys], Values = [.. items] };
    }

    /// <summary>
    /// Merges traits into <paramref name="target"/> key by key at the top level (spec 3.5): later values overwrite,
    /// <c>null</c> removes. The one merge used for lead traits and account traits alike.
    /// </summary>
    public static void MergeTraits(Dictionary<string, DataValue> target, DataValue? traits)
    {
        if (traits?.Keys is not { } keys)
        {
            return;
        }

        var values = traits.Values!;
        for (int i = 0; i < keys.Length; i++)
        {
            if (values[i].Kind == DataKind.Null)
            {
                target.Remove(keys[i]);
            }
            else
            {
                target[keys[i]] = values[i];
            }
        }
    }

    /// <summary>An object's own properties (null ones included: they remove a trait when merged).</summary>
    public IEnumerable<KeyValuePair<string, DataValue>> Pairs()
    {
        for (int i = 0; i < (Keys?.Length ?? 0); i++)
        {
            yield return new(Keys![i], Values![i]);
        }
    }

    /// <summary>Canonical text of a message's content (keys sorted), to order messages that tie on (timestamp, id).</summary>
    public static string Canonical(LeadMessage m)
    {
        var sb = new System.Text.StringBuilder();
        sb.Append((int)m.Type).Append('|').Append(m.UserId).Append('|').Append(m.AnonymousId).Append('|').Append(m.Event)
          .Append('|').Append(m.Name).Append('|').Append(m.GroupId).Append('|').Append(m.PreviousId).Append('|');
        Append(sb, m.Properties);
        sb.Append('|');
        Append(sb, m.Context);
        sb.Append('|');
        Append(sb, m.Traits);
        return sb.ToString();
    }

    private static void Append(System.Text.StringBuilder sb, DataValue? v)
    {
        if (v is null)
        {
            sb.Append('~');
            return;
        }

        switch (v.Kind)
        {
            case DataKind.Object:
                sb.Append('{');
                foreach (int i in Enumerable.Range(0, v.Keys!.Length).OrderBy(i => v.Keys[i], StringComparer.Ordinal))
                {
                    sb.Append(JsonSerializer.Serialize(v.Keys[i])).Append(':');
                    Append(sb, v.Values![i]);
                    sb.Append(',');
                }

                sb.Append('}');
                break;
            case DataKind.Array:
                sb.Append('[');
                foreach (var item in v.Items!)
                {
                    Append(sb, item);
                    sb.Append(',');
                }

                sb.Append(']');
                break;
            case DataKind.String:
                sb.Append(JsonSerializer.Serialize(v.Text));
                break;
            case DataKind.Null:
                sb.Append("null");
                break;
            default:
                sb.Append(v.AsText);
                break;
        }
    }

    public static DataValue? FromClr(object? value) => value switch
    {
        null => null,
        DataValue d => d,
        string s => FromString(s),
        bool b => b ? True : False,
        double d => FromNumber(d),
        float f => FromNumber(f),
        int i => FromNumber(i),
        long l => FromNumber(l),
        decimal m => FromNumber((double)m),
        JsonElement e => FromJsonElement(e),
        IReadOnlyDictionary<string, object?> o => FromObject(o),
        System.Collections.IEnumerable e => new DataValue { Kind = DataKind.Array, Items = e.Cast<object?>().Select(FromClr).Where(x => x is not null).ToArray()! },
        _ => FromString(Convert.ToString(value, CultureInfo.InvariantCulture) ?? ""),
    };

    /// <summary>
    /// A <see cref="JsonElement"/> handed over as a value (e.g. in the properties of <see cref="LeadMessage.Track"/>):
    /// read from its JSON text by the same builder as messages; a key repeated in an object keeps its last value.
    /// </summary>
    private static DataValue? FromJsonElement(JsonElement e) =>
        e.ValueKind == JsonValueKind.Undefined ? null :
#if NET9_0_OR_GREATER
        DataValueBuilder.Read(System.Runtime.InteropServices.JsonMarshal.GetRawUtf8Value(e));
#else
        DataValueBuilder.Read(System.Text.Encoding.UTF8.GetBytes(e.GetRawText()));
#endif
}
