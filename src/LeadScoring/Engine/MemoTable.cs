using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LeadScoring.Messages;
using X86Aes = System.Runtime.Intrinsics.X86.Aes;

namespace LeadScoring.Engine;

/// <summary>
/// Remembers a 64-bit result per distinct string (the condition bits of one message field's value, such as a URL).
/// Open addressing over one entry array with a seeded hash of the whole key, then the full key is compared. Probing is bounded: a value whose probe sequence is
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

    /// <summary>The value remembered for <paramref name="key"/>.</summary>
    public bool TryGetValue(ReadOnlySpan<char> key, out ulong value) => TryGetValue(key, Hash(key), out value);

    /// <summary>
    /// The value remembered for <paramref name="key"/>, whose <see cref="Hash"/> is <paramref name="hash"/> (a message's
    /// value carries it: <see cref="DataValue.TextHash"/>). The characters are compared only where the hash matches.
    /// </summary>
    public bool TryGetValue(ReadOnlySpan<char> key, int hash, out ulong value) => TryGetValue(key, hash, null, out value);

    /// <summary>
    /// <see cref="TryGetValue(ReadOnlySpan{char}, int, out ulong)"/> for a string: where the remembered key is the very
    /// same string (values shared between messages), the string is not read at all, not even its length (a cache miss
    /// per message where the values are shared but not recently read).
    /// </summary>
    public bool TryGetValue(string key, int hash, out ulong value) => TryGetValue(default, hash, key, out value);

    /// <summary>
    /// The probe of both lookups: the key is <paramref name="same"/> when given (matched by reference first, its
    /// characters read only where a remembered key with the same hash is another string), else <paramref name="key"/>.
    /// </summary>
    private bool TryGetValue(ReadOnlySpan<char> key, int hash, string? same, out ulong value)
    {
        var entries = _entries;
        int mask = entries.Length - 1;
        int i = hash & mask;
        for (int probe = 0; probe < MaxProbes; probe++)
        {
            ref Entry e = ref entries[i];
            if (e.Key is not { } k)
            {
                break;
            }

            if (ReferenceEquals(k, same) || (e.Hash == hash && (same is null ? key : same.AsSpan()).SequenceEqual(k)))
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
        while (!Insert(_entries, key, hash, value) && _entries.Length < FastPlan.MaxMemo * 4)
        {
            // A run of MaxProbes taken places: spread the table more. Keys that still collide at the size bound
            // (built to) stay out, and are tested each time they come.
            Grow();
        }
    }

    private bool Insert(Entry[] entries, string key, int hash, ulong value)
    {
        if (!Place(entries, new Entry { Key = key, Hash = hash, Value = value }))
        {
            return false;
        }

        _count++;
        return true;
    }

    private static bool Place(Entry[] entries, Entry entry)
    {
        int mask = entries.Length - 1;
        int i = entry.Hash & mask;
        for (int probe = 0; probe < MaxProbes; probe++)
        {
            if (entries[i].Key is null)
            {
                entries[i] = entry;
                return true;
            }

            i = (i + 1) & mask;
        }

        return false;
    }

    /// <summary>
    /// Doubles the table, and doubles again while a remembered key finds no place within <see cref="MaxProbes"/>
    /// (up to the size bound), so that growing never forgets a key.
    /// </summary>
    private void Grow()
    {
        var old = _entries;
        for (int size = old.Length * 2; ; size *= 2)
        {
            var entries = new Entry[size];
            int count = 0;
            bool all = true;
            foreach (var e in old)
            {
                if (e.Key is not null)
                {
                    if (Place(entries, e))
                    {
                        count++;
                    }
                    else
                    {
                        all = false;
                    }
                }
            }

            if (all || size >= FastPlan.MaxMemo * 4)
            {
                _entries = entries;
                _count = count;
                return;
            }
        }
    }

    /// <summary>
    /// A seeded hash of every byte of the key, 16 bytes per step in two independent lanes (values such as URLs
    /// share long prefixes and suffixes, so every byte must count): AES rounds for keys of 16 bytes or more where the
    /// processor has them (<see cref="HashAes"/>), multiply-and-shift steps otherwise. Stable within a process only.
    /// </summary>
    internal static int Hash(ReadOnlySpan<char> key)
    {
        var bytes = MemoryMarshal.AsBytes(key);
        if (X86Aes.IsSupported && bytes.Length >= 16)
        {
            return HashAes(bytes);
        }

        ulong a = Seed ^ ((ulong)bytes.Length * 0x9E3779B97F4A7C15);
        ulong b = ~Seed;
        while (bytes.Length >= 16)
        {
            a = Mix(a, MemoryMarshal.Read<ulong>(bytes));
            b = Mix(b, MemoryMarshal.Read<ulong>(bytes[8..]));
            bytes = bytes[16..];
        }

        if (bytes.Length >= 8)
        {
            a = Mix(a, MemoryMarshal.Read<ulong>(bytes));
            bytes = bytes[8..];
        }

        ulong tail = 0;
        for (int i = 0; i < bytes.Length; i++)
        {
            tail |= (ulong)bytes[i] << (8 * i);
        }

        b = Mix(b, tail);
        ulong h = a ^ ((b << 32) | (b >> 32));
        h = (h ^ (h >> 29)) * 0x94D049BB133111EB;
        return (int)(h ^ (h >> 32));
    }

    private static readonly Vector128<byte> KeyA = Vector128.Create(Seed, Seed * 0x9E3779B97F4A7C15).AsByte();
    private static readonly Vector128<byte> KeyB = Vector128.Create(~Seed, Seed * 0xBF58476D1CE4E5B9).AsByte();
    private static readonly Vector128<byte> KeyC = Vector128.Create(Seed * 0x94D049BB133111EB, ~Seed * 0x9E3779B97F4A7C15).AsByte();

    /// <summary>
    /// <see cref="Hash"/> with the processor's AES round (x86 AES-NI) as the mixer, for keys of 16 bytes or more: two
    /// lanes of 16 bytes per round, the last 16 bytes read again (overlapping) so every byte counts, the length in the
    /// starting states, then three rounds that join the lanes and spread every change over the result. An AES round
    /// takes about 4 cycles; the scalar step's multiply chain about twice that per 16 bytes.
    /// </summary>
    private static int HashAes(ReadOnlySpan<byte> bytes)
    {
        ref byte p = ref MemoryMarshal.GetReference(bytes);
        nuint n = (nuint)bytes.Length;
        var a = KeyC ^ Vector128.CreateScalar((ulong)n).AsByte();
        var b = KeyA ^ Vector128.CreateScalar((ulong)n).AsByte();
        nuint i = 0;
        for (; i + 32 <= n; i += 32)
        {
            a = X86Aes.Encrypt(a ^ Vector128.LoadUnsafe(ref p, i), KeyA);
            b = X86Aes.Encrypt(b ^ Vector128.LoadUnsafe(ref p, i + 16), KeyB);
        }

        if (i + 16 <= n)
        {
            a = X86Aes.Encrypt(a ^ Vector128.LoadUnsafe(ref p, i), KeyA);
        }

        b = X86Aes.Encrypt(b ^ Vector128.LoadUnsafe(ref p, n - 16), KeyB);
        // The lanes meet through a round (one as the other's round key), not a plain XOR: two lanes that took in the
        // same block (a key of 16 bytes) from alike states would cancel each other's change in all but a few bytes.
        var h = X86Aes.Encrypt(a, b);
        h = X86Aes.Encrypt(h, KeyC);
        h = X86Aes.Encrypt(h, KeyA);
        return h.AsInt32().ToScalar() ^ h.AsInt32().GetElement(2);
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
