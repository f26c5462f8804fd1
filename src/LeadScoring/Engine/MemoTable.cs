using System.Runtime.InteropServices;

namespace LeadScoring.Engine;

/// <summary>
/// Remembers a 64-bit result per distinct string (the condition bits of one message field's value, such as a URL).
/// Open addressing over one entry array; the hash reads the length and three 8-byte samples (start, middle, end)
/// rather than every character, then the full key is compared. Probing is bounded: a value whose probe sequence is
/// longer than <see cref="MaxProbes"/> (only keys built to collide get there) is not remembered, so the caller tests
/// it directly. Holds at most <see cref="FastPlan.MaxMemo"/> values. Not thread-safe.
/// </summary>
internal sealed class MemoTable
{
    public const int MaxProbes = 8;

    private static readonly ulong Seed = (ulong)Random.Shared.NextInt64() | 1;

    private Entry[] _entries = new Entry[256];
    private int _count;

    public int Count => _count;

    public bool TryGetValue(ReadOnlySpan<char> key, out ulong value)
    {
        int hash = Hash(key);
        var entries = _entries;
        int mask = entries.Length - 1;
        int i = hash & mask;
        for (int probe = 0; probe < MaxProbes; probe++)
        {
            ref Entry e = ref entries[i];
            if (e.Key is null)
            {
                break;
            }

            if (e.Hash == hash && key.SequenceEqual(e.Key))
            {
                value = e.Value;
                return true;
            }

            i = (i + 1) & mask;
        }

        value = 0;
        return false;
    }

    /// <summary>Remembers <paramref name="value"/> for <paramref name="key"/> when there is room.</summary>
    public void Add(string key, ulong value)
    {
        if (_count >= FastPlan.MaxMemo)
        {
            return;
        }

        if ((_count + 1) * 2 > _entries.Length)
        {
            Grow();
        }

        int hash = Hash(key);
        if (!Insert(_entries, key, hash, value) && _entries.Length < FastPlan.MaxMemo * 4)
        {
            // A run of MaxProbes taken places: spread the table once more. Keys that still collide (built to)
            // stay out, and are tested each time they come.
            Grow();
            Insert(_entries, key, hash, value);
        }
    }

    private bool Insert(Entry[] entries, string key, int hash, ulong value)
    {
        int mask = entries.Length - 1;
        int i = hash & mask;
        for (int probe = 0; probe < MaxProbes; probe++)
        {
            if (entries[i].Key is null)
            {
                entries[i] = new Entry { Key = key, Hash = hash, Value = value };
                _count++;
                return true;
            }

            i = (i + 1) & mask;
        }

        return false;
    }

    private void Grow()
    {
        var old = _entries;
        var entries = new Entry[old.Length * 2];
        _count = 0;
        foreach (var e in old)
        {
            if (e.Key is not null)
            {
                Insert(entries, e.Key, e.Hash, e.Value);
            }
        }

        _entries = entries;
    }

    internal static int Hash(ReadOnlySpan<char> key)
    {
        var bytes = MemoryMarshal.AsBytes(key);
        ulong h = Seed ^ ((ulong)bytes.Length * 0x9E3779B97F4A7C15);
        if (bytes.Length >= 8)
        {
            h = Mix(h, MemoryMarshal.Read<ulong>(bytes));
            h = Mix(h, MemoryMarshal.Read<ulong>(bytes[Math.Min((bytes.Length >> 1) & ~1, bytes.Length - 8)..]));
            h = Mix(h, MemoryMarshal.Read<ulong>(bytes[^8..]));
            if (bytes.Length >= 16)
            {
                h = Mix(h, MemoryMarshal.Read<ulong>(bytes[^16..]));
            }
        }
        else
        {
            foreach (char c in key)
            {
                h = Mix(h, c);
            }
        }

        h = (h ^ (h >> 29)) * 0x94D049BB133111EB;
        return (int)(h ^ (h >> 32));
    }

    private static ulong Mix(ulong h, ulong v)
    {
        h = (h ^ v) * 0xBF58476D1CE4E5B9;
        return h ^ (h >> 31);
    }

    private struct Entry
    {
        public string? Key;
        public int Hash;
        public ulong Value;
    }
}
