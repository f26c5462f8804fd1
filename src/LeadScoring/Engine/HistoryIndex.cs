using System.Runtime.InteropServices;

namespace LeadScoring.Engine;

/// <summary>
/// What the engine keeps per counted message: its order key, a hash of its id, its handle in the
/// <see cref="MessageHistory"/>, its lead, the lead's previous message (a list per lead, newest first) and its field
/// bits (what a replay would otherwise work out again from the message's properties). 40 bytes per message, in chunks of
/// 2,048 (80 KiB: growing copies nothing, and no chunk is a large object whose allocation would start a full
/// collection). Every message is also in an open-addressing table from id hash to message (at most three
/// quarters full: 5.3 to 10.7 bytes per message), so a copy of <em>any</em> earlier message is found with one probe run,
/// behind the lead's Bloom filter; the batch apply fetches the run's first slot ahead (<see cref="Hint(ulong)"/>). A
/// slot keeps a fingerprint of the id hash beside the entry's index, so the run reads only the entries whose
/// fingerprint matches (reading each entry of the run cost a cache miss per slot). Walking the lead's list instead cost
/// a cache miss per entry.
/// </summary>
internal sealed class HistoryIndex
{
    private const int ChunkBits = 11;
    private const int ChunkSize = 1 << ChunkBits;

    // Entries in chunks of 2,048 (80 KiB): the index grows without copying and without a doubling's spare room.
    private Entry[][] _chunks;
    private int _count;
    // Slots: (entry index + 1) in the low bits, enough for every entry the table may hold (it is at most three quarters
    // full, so an index + 1 is below its length), and a fingerprint of the id hash in the bits above; 0 = empty. A
    // probe compares fingerprints and reads an entry (a cache miss) only when they match.
    private uint[] _table;
    private int _tableCount;

    public HistoryIndex(int capacity)
    {
        _chunks = new Entry[Math.Max(1, (capacity + ChunkSize - 1) >> ChunkBits)][];
        for (int i = 0; i < _chunks.Length; i++)
        {
            _chunks[i] = new Entry[ChunkSize];
        }
        // Room for every message in the table (at most three quarters full). Only ids that pass a lead's Bloom filter
        // are looked up (about one message in eight on the canonical workload), so longer probe runs cost little, while
        // every message's insert touches the table: a smaller table keeps the memory touched down.
        int size = 64;
        while ((long)size * 3 < (long)capacity * 4)
        {
            size <<= 1;
        }

        _table = new uint[size];
    }

    /// <summary>Messages indexed, dead ones included.</summary>
    public int Count => _count;

    /// <summary>Bytes held by the index (entries and table).</summary>
    public long Bytes => ((long)_chunks.Count(c => c is not null) * ChunkSize * 40) + ((long)_table.Length * 4);

    public ref Entry this[int index] => ref _chunks[index >> ChunkBits][index & (ChunkSize - 1)];

    /// <summary>A per-process random seed, so ids cannot be chosen to collide (the hashes are never persisted).</summary>
    private static readonly ulong Seed = (ulong)Random.Shared.NextInt64() | 1;

    /// <summary>
    /// A seeded 64-bit multiply-xorshift hash of an id (message ids here, lead ids in <see cref="IdTable"/>), 8 bytes
    /// (4 characters) per step: a 36-character id costs 9 multiplications where a per-character hash costs 36
    /// dependent ones, and Marvin (string's own hash) several per character.
    /// </summary>
    public static ulong Hash(ReadOnlySpan<char> id)
    {
        var bytes = MemoryMarshal.AsBytes(id);
        ulong h = Seed ^ ((ulong)bytes.Length * 0x9E3779B97F4A7C15);
        while (bytes.Length >= 8)
        {
            h = (h ^ MemoryMarshal.Read<ulong>(bytes)) * 0xBF58476D1CE4E5B9;
            h ^= h >> 31;
            bytes = bytes[8..];
        }

        if (bytes.Length >= 4)
        {
            h = (h ^ MemoryMarshal.Read<uint>(bytes)) * 0xBF58476D1CE4E5B9;
            h ^= h >> 31;
            bytes = bytes[4..];
        }

        if (bytes.Length >= 2)
        {
            h = (h ^ MemoryMarshal.Read<ushort>(bytes)) * 0xBF58476D1CE4E5B9;
        }

        h = (h ^ (h >> 29)) * 0x94D049BB133111EB;
        return h ^ (h >> 32);
    }

    /// <summary>
    /// Indexes a message as the newest of <paramref name="row"/>'s list, whose head was <paramref name="prev"/>, and in
    /// the id-hash table.
    /// </summary>
    public int Add(int row, int prev, long ticks, ulong idHash, long handle, ulong bits = 0)
    {
        int chunk = _count >> ChunkBits;
        if (chunk == _chunks.Length)
        {
            Array.Resize(ref _chunks, _chunks.Length * 2);
        }

        var entries = _chunks[chunk] ??= new Entry[ChunkSize];
        int index = _count++;
        entries[index & (ChunkSize - 1)] = new Entry { Ticks = ticks, IdHash = idHash, Handle = handle, Row = row, Prev = prev, Bits = bits };
        Insert(index);
        return index;
    }

    /// <summary>Starts fetching the table slot where a lookup or an insert of this id hash begins (a prefetch hint).</summary>
    public void Hint(ulong idHash)
    {
        var table = _table;
        MemoryHint.Prefetch(ref table[(int)idHash & (table.Length - 1)]);
    }

    /// <summary>Puts an entry into the id-hash table (once: the caller knows it is not there yet).</summary>
    private void Insert(int index)
    {
        if ((long)(_tableCount + 1) * 4 > (long)_table.Length * 3)
        {
            GrowTable();
        }

        Insert(_table, index, this[index].IdHash);
        _tableCount++;
    }

    /// <summary>
    /// The next message (live or released) of <paramref name="row"/> whose id hash is <paramref name="idHash"/>, probing from
    /// <paramref name="probe"/> (start at -1); -1 when there is none. Callers confirm the id itself.
    /// </summary>
    public int FindNext(int row, ulong idHash, ref int probe)
    {
        var table = _table;
        int mask = table.Length - 1;
        uint fingerprint = Fingerprint(idHash, table.Length);
        int i = probe < 0 ? (int)idHash & mask : (probe + 1) & mask;
        for (uint slot; (slot = table[i]) != 0; i = (i + 1) & mask)
        {
            if ((slot & ~(uint)mask) != fingerprint)
            {
                continue;
            }

            int index = (int)(slot & (uint)mask) - 1;
            ref Entry e = ref this[index];
            if (e.IdHash == idHash && e.Row == row)
            {
                probe = i;
                return index;
            }
        }

        probe = i;
        return -1;
    }

    private static void Insert(uint[] table, int index, ulong idHash)
    {
        int mask = table.Length - 1;
        int i = (int)idHash & mask;
        while (table[i] != 0)
        {
            i = (i + 1) & mask;
        }

        table[i] = (uint)(index + 1) | Fingerprint(idHash, table.Length);
    }

    /// <summary>
    /// The bits of a slot above those of an entry index, in a table of <paramref name="length"/> slots (a power of two),
    /// taken from the id hash's top bits (its low bits chose the slot).
    /// </summary>
    private static uint Fingerprint(ulong idHash, int length) => (uint)(idHash >> 32) & ~(uint)(length - 1);

    private void GrowTable()
    {
        int mask = _table.Length - 1;
        var table = new uint[_table.Length * 2];
        foreach (uint slot in _table)
        {
            if (slot != 0)
            {
                int index = (int)(slot & (uint)mask) - 1;
                Insert(table, index, this[index].IdHash);
            }
        }

        _table = table;
    }

    /// <summary>One counted message. A released one has a negative <see cref="Handle"/>.</summary>
    public struct Entry
    {
        public long Ticks;
        public long Handle;
        public ulong IdHash;

        /// <summary>The message's field bits under the engine's model (0 where it has none): they depend only on the message and the model.</summary>
        public ulong Bits;
        public int Row;
        public int Prev;

        public readonly bool Live => Handle >= 0;
    }
}
