namespace LeadScoring.Engine;

/// <summary>
/// What the engine keeps per counted message: its order key, a hash of its id, its handle in the
/// <see cref="MessageHistory"/>, its lead and the lead's previous message (a list per lead, newest first), plus an
/// open-addressing table from id hash to message, so a copy of <em>any</em> earlier message of a lead is found with
/// one probe. 32 bytes per message (in chunks of 4,096, so growing copies nothing) and 4 to 8 in the table.
/// </summary>
internal sealed class HistoryIndex
{
    private const int ChunkBits = 12;
    private const int ChunkSize = 1 << ChunkBits;

    // Entries in chunks of 4,096 (128 KiB): the index grows without copying and without a doubling's spare room.
    private Entry[][] _chunks;
    private int _count;
    private int[] _table; // entry index + 1; 0 = empty
    private int _tableCount;

    public HistoryIndex(int capacity)
    {
        _chunks = new Entry[Math.Max(1, (capacity + ChunkSize - 1) >> ChunkBits)][];
        for (int i = 0; i < _chunks.Length; i++)
        {
            _chunks[i] = new Entry[ChunkSize];
        }
        int size = 64;
        while (size < capacity * 2)
        {
            size <<= 1;
        }

        _table = new int[size];
    }

    /// <summary>Messages indexed, dead ones included.</summary>
    public int Count => _count;

    /// <summary>Bytes held by the index (entries and table).</summary>
    public long Bytes => ((long)_chunks.Count(c => c is not null) * ChunkSize * 32) + ((long)_table.Length * 4);

    public ref Entry this[int index] => ref _chunks[index >> ChunkBits][index & (ChunkSize - 1)];

    /// <summary>A 64-bit hash of a message id (FNV-1a over its characters).</summary>
    public static ulong Hash(ReadOnlySpan<char> id)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in id)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return h ^ (h >> 29);
    }

    /// <summary>Indexes a message as the newest of <paramref name="row"/>'s list, whose head was <paramref name="prev"/>.</summary>
    public int Add(int row, int prev, long ticks, ulong idHash, long handle)
    {
        int chunk = _count >> ChunkBits;
        if (chunk == _chunks.Length)
        {
            Array.Resize(ref _chunks, _chunks.Length * 2);
        }

        var entries = _chunks[chunk] ??= new Entry[ChunkSize];

        if ((_tableCount + 1) * 2 > _table.Length)
        {
            GrowTable();
        }

        int index = _count++;
        entries[index & (ChunkSize - 1)] = new Entry { Ticks = ticks, IdHash = idHash, Handle = handle, Row = row, Prev = prev };
        Insert(_table, index, idHash);
        _tableCount++;
        return index;
    }

    /// <summary>
    /// The next message (live or released) of <paramref name="row"/> whose id hash is <paramref name="idHash"/>, probing from
    /// <paramref name="probe"/> (start at -1); -1 when there is none. Callers confirm the id itself.
    /// </summary>
    public int FindNext(int row, ulong idHash, ref int probe)
    {
        var table = _table;
        int mask = table.Length - 1;
        int i = probe < 0 ? (int)idHash & mask : (probe + 1) & mask;
        while (table[i] != 0)
        {
            ref Entry e = ref this[table[i] - 1];
            if (e.IdHash == idHash && e.Row == row)
            {
                probe = i;
                return table[i] - 1;
            }

            i = (i + 1) & mask;
        }

        probe = i;
        return -1;
    }

    private static void Insert(int[] table, int index, ulong idHash)
    {
        int mask = table.Length - 1;
        int i = (int)idHash & mask;
        while (table[i] != 0)
        {
            i = (i + 1) & mask;
        }

        table[i] = index + 1;
    }

    private void GrowTable()
    {
        var table = new int[_table.Length * 2];
        for (int i = 0; i < _count; i++)
        {
            Insert(table, i, this[i].IdHash);
        }

        _table = table;
    }

    /// <summary>One counted message. A released one has a negative <see cref="Handle"/>.</summary>
    public struct Entry
    {
        public long Ticks;
        public long Handle;
        public ulong IdHash;
        public int Row;
        public int Prev;

        public readonly bool Live => Handle >= 0;
    }
}
