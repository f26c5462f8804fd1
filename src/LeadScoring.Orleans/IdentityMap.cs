using LeadScoring.Messages;

namespace LeadScoring.Orleans;

/// <summary>
/// The identity directory's map: every id a message named (user id, anonymous id, alias previous id), joined with the
/// other ids of the same message (union-find), so that one component holds every id the engine may link into one lead.
/// A component's partition is a pure function of its ids: the stable hash of its smallest id (ordinal) modulo the
/// partition count. Rebuilt from the message log, it gives the same partitions on any silo, in any process.
/// </summary>
internal sealed class IdentityMap(int partitions)
{
    private readonly Dictionary<string, int> _index = new(StringComparer.Ordinal);
    private readonly List<int> _parent = [];
    private readonly List<string> _min = [];
    private readonly List<List<string>?> _members = [];

    /// <summary>The number of partitions.</summary>
    public int Partitions { get; } = partitions > 0 ? partitions : throw new ArgumentOutOfRangeException(nameof(partitions));

    /// <summary>How many ids are known.</summary>
    public int Count => _index.Count;

    /// <summary>Whether <paramref name="id"/> is known.</summary>
    public bool Contains(string id) => _index.ContainsKey(id);

    /// <summary>The partition of the component of a known id; of a new id, its own home partition.</summary>
    public int PartitionOf(string id) =>
        _index.TryGetValue(id, out int i) ? Home(_min[Find(i)], Partitions) : Home(id, Partitions);

    /// <summary>The partition of a message: that of its lead's component (after <see cref="Add"/>).</summary>
    public int PartitionOf(LeadMessage message) => PartitionOf(message.LeadId);

    /// <summary>Every id of the component of a known id (empty for an unknown one).</summary>
    public IReadOnlyList<string> Members(string id) =>
        _index.TryGetValue(id, out int i) ? _members[Find(i)]! : [];

    /// <summary>Joins the ids of <paramref name="message"/>.</summary>
    public void Add(LeadMessage message)
    {
        int a = Node(message.UserId), b = Node(message.AnonymousId), c = Node(message.PreviousId);
        Union(a, b);
        Union(a < 0 ? b : a, c);
    }

    /// <summary>The stable home partition of an id: FNV-1a over its UTF-16 code units (never string.GetHashCode, which differs by process).</summary>
    public static int Home(string id, int partitions)
    {
        uint h = 2166136261;
        foreach (char ch in id)
        {
            h = (h ^ ch) * 16777619;
        }

        return (int)(h % (uint)partitions);
    }

    private int Node(string? id)
    {
        if (id is null)
        {
            return -1;
        }

        if (_index.TryGetValue(id, out int i))
        {
            return i;
        }

        i = _parent.Count;
        _index.Add(id, i);
        _parent.Add(i);
        _min.Add(id);
        _members.Add([id]);
        return i;
    }

    private int Find(int i)
    {
        int root = i;
        while (_parent[root] != root)
        {
            root = _parent[root];
        }

        while (_parent[i] != root)
        {
            (i, _parent[i]) = (_parent[i], root);
        }

        return root;
    }

    private void Union(int a, int b)
    {
        if (a < 0 || b < 0)
        {
            return;
        }

        a = Find(a);
        b = Find(b);
        if (a == b)
        {
            return;
        }

        // The larger member list absorbs the smaller one.
        if (_members[a]!.Count < _members[b]!.Count)
        {
            (a, b) = (b, a);
        }

        _parent[b] = a;
        _members[a]!.AddRange(_members[b]!);
        _members[b] = null;
        if (string.CompareOrdinal(_min[b], _min[a]) < 0)
        {
            _min[a] = _min[b];
        }
    }
}
