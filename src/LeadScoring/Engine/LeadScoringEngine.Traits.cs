using System.Runtime.CompilerServices;
using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>
/// A flat row's traits, kept small: one array per lead whose first slot is the key layout (the trait names in order,
/// a pooled <c>string[]</c> shared by every lead with the same names in the same order) and whose other slots are the
/// values. A value is a pooled <see cref="DataValue"/> (numbers, and strings met on more than one lead, such as a job
/// title or an industry), or the plain string of a string value met once so far (such as an email domain): keeping a
/// <see cref="DataValue"/> and a pool entry for a value one lead has would triple its cost. A plain string becomes a
/// <see cref="DataValue"/> again (<see cref="DataValue.FromString(string)"/>, the same value) where a full state or a trait
/// leaf needs it.
/// </summary>
public sealed partial class LeadScoringEngine
{
    private const int MaxPooled = 1 << 20;

    /// <summary>Bits of the "met before" filter for string values: 2^20 bits (128 KiB), made on first use.</summary>
    private const int SeenBits = 1 << 20;

    private readonly Dictionary<string, string> _keyPool = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DataValue> _stringPool = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DataValue> _numberPool = new(StringComparer.Ordinal);
    private readonly Dictionary<string[], string[]> _layouts = new(KeyLayoutComparer.Instance);
    private readonly List<KeyValuePair<string, object>> _mergedTraits = [];
    private ulong[]? _seen;

    /// <summary>A trait row's key layout.</summary>
    private static string[] LayoutOf(object[] traits) => Unsafe.As<string[]>(traits[0]);

    /// <summary>A trait row's value at <paramref name="i"/> (0-based) as a <see cref="DataValue"/>; a plain string is made one again.</summary>
    private static DataValue ValueAt(object[] traits, int i) =>
        traits[i + 1] is string text ? DataValue.FromString(text) : Unsafe.As<DataValue>(traits[i + 1]);

    /// <summary>A full state's traits as a trait row.</summary>
    private object[] Compact(Dictionary<string, DataValue> traits)
    {
        var merged = _mergedTraits;
        merged.Clear();
        foreach (var (k, v) in traits)
        {
            merged.Add(new(Pool(k), PoolValue(v)));
        }

        return ToTraitRow(merged)!;
    }

    /// <summary>Spec 2.3: an identify's traits merge over the lead's, key by key; a null removes the key.</summary>
    /// <param name="current">The lead's trait row.</param>
    /// <param name="traits">The identify's traits.</param>
    /// <param name="like">A trait row to hand back, rather than a new one, when the merge holds the same traits (<see cref="SameTraits"/>); or null.</param>
    private object[]? MergeTraits(object[]? current, DataValue traits, object[]? like = null)
    {
        if (traits.Keys is not { } keys || keys.Length == 0)
        {
            return current;
        }

        var merged = _mergedTraits;
        merged.Clear();
        if (current is not null)
        {
            var layout = LayoutOf(current);
            for (int i = 0; i < layout.Length; i++)
            {
                merged.Add(new(layout[i], current[i + 1]));
            }
        }

        var values = traits.Values!;
        for (int i = 0; i < keys.Length; i++)
        {
            SetTrait(merged, keys[i], values[i].Kind == DataKind.Null ? null : PoolValue(values[i]));
        }

        if (like is not null && SameTraits(merged, like))
        {
            merged.Clear();
            return like;
        }

        return ToTraitRow(merged);
    }

    /// <summary>One key of a trait merge (spec 2.3): a value replaces the key's, null removes the key.</summary>
    private void SetTrait(List<KeyValuePair<string, object>> merged, string key, object? value)
    {
        int found = -1;
        for (int j = 0; j < merged.Count; j++)
        {
            if (string.Equals(key, merged[j].Key, StringComparison.Ordinal))
            {
                found = j;
                break;
            }
        }

        if (value is null)
        {
            if (found >= 0)
            {
                merged.RemoveAt(found);
            }
        }
        else if (found >= 0)
        {
            merged[found] = new(merged[found].Key, value);
        }
        else
        {
            merged.Add(new(Pool(key), value));
        }
    }

    /// <summary>The trait row of merged pairs (pooled names, pooled values or plain strings), or null when there are none.</summary>
    private object[]? ToTraitRow(List<KeyValuePair<string, object>> pairs)
    {
        if (pairs.Count == 0)
        {
            return null;
        }

        var layout = new string[pairs.Count];
        var row = new object[pairs.Count + 1];
        for (int i = 0; i < pairs.Count; i++)
        {
            layout[i] = pairs[i].Key;
            row[i + 1] = pairs[i].Value;
        }

        if (_layouts.TryGetValue(layout, out var pooled))
        {
            layout = pooled;
        }
        else if (_layouts.Count < MaxPooled)
        {
            _layouts[layout] = layout;
        }

        row[0] = layout;
        pairs.Clear();
        return row;
    }

    /// <summary>
    /// A trait row and its trait bits that an identify stepped into a flat row is likely to arrive at (<see cref="NoteTraitsOf"/>):
    /// during a replay the lead's before it, during a fold into a base row the lead's current ones. An identify whose
    /// merge holds the same traits takes that row and its bits rather than making a row and testing every trait leaf
    /// again (<see cref="SameTraits"/>; trait rows are never changed in place, so two rows may share one). Else null.
    /// </summary>
    private (object[]? Traits, ulong Bits)? _knownTraits;

    /// <summary>
    /// Notes the lead's trait row and bits as <see cref="_knownTraits"/> (on flat rows) and hands back what was noted
    /// before, for the caller to put back when its replay or fold is done.
    /// </summary>
    private (object[]? Traits, ulong Bits)? NoteTraitsOf(int row)
    {
        var before = _knownTraits;
        if (_plan is not null)
        {
            _knownTraits = (_rows[row].Traits, _hot[row].TraitBits);
        }

        return before;
    }

    /// <summary>
    /// Whether merged pairs (pooled names; pooled values or plain strings) hold the same traits as a trait row, so that
    /// their trait bits are the same: the same names in the same order, and at each the same object, or two scalar
    /// values alike (kind, text and number), a plain string being the string value <see cref="ValueAt"/> makes of it.
    /// Allocates nothing.
    /// </summary>
    private static bool SameTraits(List<KeyValuePair<string, object>> pairs, object[] row)
    {
        var layout = LayoutOf(row);
        if (layout.Length != pairs.Count)
        {
            return false;
        }

        for (int i = 0; i < layout.Length; i++)
        {
            var (key, value) = pairs[i];
            if (!string.Equals(key, layout[i], StringComparison.Ordinal) || (!ReferenceEquals(value, row[i + 1]) && !SameScalar(value, row[i + 1])))
            {
                return false;
            }
        }

        return true;

        static bool SameScalar(object x, object y) => (x, y) switch
        {
            (string s, string t) => string.Equals(s, t, StringComparison.Ordinal),
            (string s, DataValue v) => v.Kind == DataKind.String && string.Equals(v.Text, s, StringComparison.Ordinal) && IsPlainString(v, s),
            (DataValue, string) => SameScalar(y, x),
            (DataValue v, DataValue w) => v.Kind == w.Kind && v.Kind is DataKind.String or DataKind.Number
                && v.Keys is null && v.Values is null && v.Items is null && w.Keys is null && w.Values is null && w.Items is null
                && string.Equals(v.Text, w.Text, StringComparison.Ordinal)
                && BitConverter.DoubleToInt64Bits(v.Number) == BitConverter.DoubleToInt64Bits(w.Number),
            _ => false,
        };
    }

    /// <summary>The lead's trait bits: each trait leaf tested on the value at its path (as Evaluator.Resolve reads it).</summary>
    private ulong TraitBitsOf(object[]? traits)
    {
        var leaves = _plan!.TraitLeaves;
        ulong bits = 0;
        for (int i = 0; i < leaves.Length; i++)
        {
            var path = leaves[i].Field;
            DataValue? value = null;
            if (traits is not null)
            {
                var layout = LayoutOf(traits);
                for (int k = 0; k < layout.Length; k++)
                {
                    if (string.Equals(layout[k], path.Segments[0], StringComparison.Ordinal))
                    {
                        value = path.Walk(ValueAt(traits, k), 1);
                        break;
                    }
                }
            }

            if (leaves[i].Test(FieldValue.Of(value)))
            {
                bits |= 1UL << i;
            }
        }

        return bits;
    }

    /// <summary>Copies a trait row into a full state's traits.</summary>
    private static void LoadTraits(object[]? traits, Dictionary<string, DataValue> into)
    {
        into.Clear();
        if (traits is null)
        {
            return;
        }

        var layout = LayoutOf(traits);
        for (int i = 0; i < layout.Length; i++)
        {
            into[layout[i]] = ValueAt(traits, i);
        }
    }

    /// <summary>One instance per distinct trait name, so 100,000 leads share their names.</summary>
    private string Pool(string key)
    {
        if (_keyPool.TryGetValue(key, out var pooled))
        {
            return pooled;
        }

        if (_keyPool.Count < MaxPooled)
        {
            _keyPool[key] = key;
        }

        return key;
    }

    /// <summary>
    /// A trait value as a row keeps it: the pooled instance of a number or of a string met before (on this lead or
    /// another), the plain string of a string met for the first time, or the value itself (booleans, objects, arrays).
    /// </summary>
    private object PoolValue(DataValue v)
    {
        if (v.Text is not { } text || (v.Kind != DataKind.String && v.Kind != DataKind.Number))
        {
            return v;
        }

        var pool = v.Kind == DataKind.String ? _stringPool : _numberPool;
        if (pool.TryGetValue(text, out var pooled))
        {
            return pooled;
        }

        if (v.Kind == DataKind.String && !SeenBefore(text) && IsPlainString(v, text))
        {
            return text;
        }

        if (pool.Count < MaxPooled)
        {
            pool[text] = v;
        }

        return v;
    }

    /// <summary>Whether <see cref="DataValue.FromString(string)"/> of the text gives this value back exactly.</summary>
    private static bool IsPlainString(DataValue v, string text) =>
        v.Keys is null && v.Values is null && v.Items is null
        && BitConverter.DoubleToInt64Bits(v.Number) == BitConverter.DoubleToInt64Bits(DataValue.ParseNumber(text));

    /// <summary>
    /// Whether a string value was (probably) met before, and notes it: a bit per hash in a fixed filter. A wrong "yes"
    /// only pools a value one lead has; a "no" is always right.
    /// </summary>
    private bool SeenBefore(string text)
    {
        var seen = _seen ??= new ulong[SeenBits / 64];
        int bit = (int)(HistoryIndex.Hash(text) & (SeenBits - 1));
        ulong mask = 1UL << (bit & 63);
        bool before = (seen[bit >> 6] & mask) != 0;
        seen[bit >> 6] |= mask;
        return before;
    }

    /// <summary>Key layouts compared by their names, in order.</summary>
    private sealed class KeyLayoutComparer : IEqualityComparer<string[]>
    {
        public static readonly KeyLayoutComparer Instance = new();

        public bool Equals(string[]? x, string[]? y) => x.AsSpan().SequenceEqual(y);

        public int GetHashCode(string[] obj)
        {
            var hash = default(HashCode);
            foreach (var key in obj)
            {
                hash.Add(key, StringComparer.Ordinal);
            }

            return hash.ToHashCode();
        }
    }
}
