namespace LeadScoring.Engine;

/// <summary>
/// Lead ids to row numbers: open addressing with linear probing over one array of entries (key, hash, row), so a
/// lookup touches one entry and its key. Looks up by <see cref="ReadOnlySpan{T}"/> as well as by string, so a
/// parser can find a lead without allocating its id. Ids are never removed (a merged lead's ids point to the
/// survivor). Not thread-safe.
/// </summary>
internal sealed class IdTable
{
    private Entry[] _entries = new Entry[64];
    private int _count;

    public int Count => _count;

    /// <summary>
    /// Changes whenever an id is re-pointed (a merge, a removal), so a row found earlier can be known to be still right.
    /// Adding an id changes no row found earlier, only an earlier "unknown" (-1): callers look those up again.
    /// </summary>
    public int Version { get; private set; }

    /// <summary>The seeded hash of an id (<see cref="HistoryIndex.Hash"/>), folded to 32 bits.</summary>
    public static int Hash(ReadOnlySpan<char> key) => (int)HistoryIndex.Hash(key);

    /// <summary>The row of <paramref name="key"/>; -1 when unknown.</summary>
    public int Find(string key) => Find(key, Hash(key));

    /// <summary>The row of the id <paramref name="key"/> (a parser's span), whose <see cref="Hash"/> is <paramref name="hash"/>; -1 when unknown.</summary>
    public int Find(ReadOnlySpan<char> key, int hash)
    {
        var entries = _entries;
        int mask = entries.Length - 1;
        int i = hash & mask;
        while (true)
        {
            ref Entry e = ref entries[i];
            if (e.Key is null)
            {
                return -1;
            }

            if (e.Hash == hash && key.SequenceEqual(e.Key))
            {
                return e.Row;
            }

            i = (i + 1) & mask;
        }
    }

    /// <summary>Starts fetching the entry where a lookup of a key with this <see cref="Hash"/> begins (a prefetch hint; no lookup).</summary>
    public void Hint(int hash)
    {
        var entries = _entries;
        MemoryHint.Prefetch(ref entries[hash & (entries.Length - 1)]);
    }

    /// <summary>
    /// The row of <paramref name="key"/>, whose <see cref="Hash"/> is <paramref name="hash"/>; -1 when unknown. The key's
    /// characters are read only when the entry holds another string object with the same hash: a host that passes the
    /// same id string again and again (or a message whose <see cref="Messages.LeadMessage.UserIdHash"/> was worked out
    /// when it was made) finds its lead without touching the string.
    /// </summary>
    public int Find(string key, int hash)
    {
        var entries = _entries;
        int mask = entries.Length - 1;
        int i = hash & mask;
        while (true)
        {
            ref Entry e = ref entries[i];
            if (e.Key is not { } k)
            {
                return -1;
            }

            if (e.Hash == hash && (ReferenceEquals(k, key) || string.Equals(k, key, StringComparison.Ordinal)))
            {
                return e.Row;
            }

            i = (i + 1) & mask;
        }
    }

    /// <summary>Maps <paramref name="key"/> to <paramref name="row"/>, adding it or re-pointing it.</summary>
    public void Set(string key, int row)
    {
        // At most 80% full: linear probing still finds an id in about 3 probes, mostly in the same cache line.
        if ((long)(_count + 1) * 5 > (long)_entries.Length * 4)
        {
            Grow();
        }

        int hash = Hash(key);
        var entries = _entries;
        int mask = entries.Length - 1;
        int i = hash & mask;
        while (entries[i].Key is { } k)
        {
            if (entries[i].Hash == hash && string.Equals(k, key, StringComparison.Ordinal))
            {
                if (entries[i].Row != row)
                {
                    entries[i].Row = row;
                    Version++;
                }

                return;
            }

            i = (i + 1) & mask;
        }

        entries[i] = new Entry { Key = key, Hash = hash, Row = row };
        _count++;
    }

    private void Grow()
    {
        var old = _entries;
        var entries = new Entry[old.Length * 2];
        int mask = entries.Length - 1;
        foreach (var e in old)
        {
            if (e.Key is null)
            {
                continue;
            }

            int i = e.Hash & mask;
            while (entries[i].Key is not null)
            {
                i = (i + 1) & mask;
            }

            entries[i] = e;
        }

        _entries = entries;
    }

    private struct Entry
    {
        public string? Key;
        public int Hash;
        public int Row;
    }
}
