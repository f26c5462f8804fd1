using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>
/// Account traits (spec 3.5): every counted group message, per account in spec 2.3 order, from any lead. Members
/// are lead rows; a group message that lands before a member's latest message makes that member stale, so the
/// engine replays it.
/// </summary>
internal sealed class AccountBook(CompiledModel model, Action<int> invalidate, Func<int, LeadMessage, bool> appliedAfter) : IAccountDirectory
{
    private readonly Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);
    private readonly Dictionary<int, List<string>> _groupsOf = [];

    /// <summary>
    /// Told of every member of an account whose traits changed (a group message added or removed), whether or not the
    /// member must be replayed: its stage conditions may read the account at later ticks (the engine's timer queue).
    /// </summary>
    public Action<int>? MembersChanged { get; set; }

    /// <summary>Records a counted group message of <paramref name="from"/> (-1: from a lead kept elsewhere).</summary>
    public void Add(LeadMessage m, int from)
    {
        if (m.Type != MessageType.Group || !model.UsesAccount)
        {
            return;
        }

        var account = AccountOf(m.GroupId!);
        if (from >= 0)
        {
            Join(account, m.GroupId!, from);
        }

        int at = account.Entries.BinarySearch(m, MessageOrder.Instance);
        if (at >= 0)
        {
            return;
        }

        at = ~at;
        account.Entries.Insert(at, m);
        if (at < account.Entries.Count - 1)
        {
            account.Rebuild();
        }
        else
        {
            account.Merge(m);
        }

        InvalidateAfter(account, m, from);
    }

    /// <summary>Makes <paramref name="row"/> a member of <paramref name="groupId"/> (a lead restored from a store).</summary>
    public void Join(string groupId, int row)
    {
        if (model.UsesAccount)
        {
            Join(AccountOf(groupId), groupId, row);
        }
    }

    /// <summary>Forgets a group message that turned out to be a copy of an earlier one.</summary>
    public void Remove(LeadMessage m)
    {
        if (m.Type != MessageType.Group || !_accounts.TryGetValue(m.GroupId!, out var account))
        {
            return;
        }

        int at = account.Entries.BinarySearch(m, MessageOrder.Instance);
        if (at < 0 || !ReferenceEquals(account.Entries[at], m))
        {
            return;
        }

        account.Entries.RemoveAt(at);
        account.Rebuild();
        InvalidateAfter(account, m, -1);
    }

    /// <summary>A lead left the engine: it is no member of any account.</summary>
    public void Leave(int row)
    {
        if (_groupsOf.Remove(row, out var groups))
        {
            foreach (var g in groups)
            {
                _accounts[g].Members.Remove(row);
            }
        }
    }

    /// <summary>Lead <paramref name="from"/> was merged into <paramref name="to"/>.</summary>
    public void Move(int from, int to)
    {
        if (_groupsOf.Remove(from, out var groups))
        {
            foreach (var g in groups)
            {
                var account = _accounts[g];
                account.Members.Remove(from);
                Join(account, g, to);
            }
        }
    }

    public IReadOnlyList<LeadMessage> AllMessages() =>
        _accounts.OrderBy(a => a.Key, StringComparer.Ordinal).SelectMany(a => a.Value.Entries).ToList();

    /// <summary>
    /// The timestamp of the account's latest group message (<see cref="long.MinValue"/> for an account without any):
    /// as far as this book knows, the account's traits do not change after it. A group message that comes later tells
    /// <see cref="MembersChanged"/>.
    /// </summary>
    public long SettledAfter(string groupId) =>
        _accounts.TryGetValue(groupId, out var account) && account.Entries.Count > 0 ? account.Entries[^1].TimestampTicks : long.MinValue;

    public Dictionary<string, DataValue>? TraitsAt(string groupId, long ticks, string? messageId)
    {
        if (!_accounts.TryGetValue(groupId, out var account) || account.Entries.Count == 0)
        {
            return null;
        }

        var last = account.Entries[^1];
        return IsAfter(last, ticks, messageId) ? account.At(ticks, messageId) : account.Merged;
    }

    private Account AccountOf(string groupId)
    {
        if (!_accounts.TryGetValue(groupId, out var account))
        {
            _accounts[groupId] = account = new Account();
        }

        return account;
    }

    private void Join(Account account, string groupId, int row)
    {
        if (account.Members.Add(row))
        {
            if (!_groupsOf.TryGetValue(row, out var groups))
            {
                _groupsOf[row] = groups = [];
            }

            groups.Add(groupId);
        }
    }

    private void InvalidateAfter(Account account, LeadMessage m, int from)
    {
        // Any other member that already applied later messages read the account without this change.
        foreach (int member in account.Members)
        {
            if (member != from && appliedAfter(member, m))
            {
                invalidate(member);
            }

            MembersChanged?.Invoke(member);
        }
    }

    /// <summary>Whether <paramref name="m"/> comes after the point (an instant alone, with no id, includes its own messages).</summary>
    private static bool IsAfter(LeadMessage m, long ticks, string? messageId) =>
        messageId is null ? m.TimestampTicks > ticks : LeadMessage.CompareOrder(m.TimestampTicks, m.MessageId, ticks, messageId) > 0;

    private sealed class Account
    {
        public readonly List<LeadMessage> Entries = [];
        public readonly HashSet<int> Members = [];
        public readonly Dictionary<string, DataValue> Merged = new(StringComparer.Ordinal);
        private readonly Dictionary<string, DataValue> _scratch = new(StringComparer.Ordinal);
        private long _scratchTicks = long.MinValue;
        private string? _scratchId;
        private int _scratchVersion = -1;
        private int _version;

        public void Merge(LeadMessage m)
        {
            _version++;
            DataValue.MergeTraits(Merged, m.Traits);
        }

        public void Rebuild()
        {
            _version++;
            Merged.Clear();
            foreach (var e in Entries)
            {
                DataValue.MergeTraits(Merged, e.Traits);
            }
        }

        public Dictionary<string, DataValue> At(long ticks, string? messageId)
        {
            if (_scratchVersion == _version && _scratchTicks == ticks && _scratchId == messageId)
            {
                return _scratch;
            }

            _scratch.Clear();
            foreach (var e in Entries)
            {
                if (IsAfter(e, ticks, messageId))
                {
                    break;
                }

                DataValue.MergeTraits(_scratch, e.Traits);
            }

            (_scratchVersion, _scratchTicks, _scratchId) = (_version, ticks, messageId);
            return _scratch;
        }
    }
}

/// <summary>Orders messages by (timestamp, message id), spec 2.3, then by content for exact ties.</summary>
internal sealed class MessageOrder : IComparer<LeadMessage>
{
    public static readonly MessageOrder Instance = new();

    public int Compare(LeadMessage? x, LeadMessage? y) => LeadMessage.CompareTotal(x!, y!);
}
