using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>Options of a <see cref="LeadScoringEngine"/>.</summary>
public sealed record LeadScoringEngineOptions
{
    /// <summary>The default options.</summary>
    public static LeadScoringEngineOptions Default { get; } = new();

    /// <summary>
    /// How far back a late message is still put in its exact place (spec 2.3) by replaying the lead's journal.
    /// A message older than that (relative to the lead's latest message) is applied as it comes, counted as
    /// beyond the horizon, never dropped. <see langword="null"/>: unbounded (every message is kept; exact for
    /// any arrival order). Default 30 days.
    /// </summary>
    public TimeSpan? ReorderHorizon { get; init; } = TimeSpan.FromDays(30);

    /// <summary>
    /// When <see langword="false"/> (default), a lead whose history changed in the past (a late message, a merge,
    /// an account change before its latest message) is replayed at once, so its state is always current. When
    /// <see langword="true"/>, replays wait until the lead is evaluated: a shuffled file then costs one replay per
    /// lead instead of one per late message. Results are the same.
    /// </summary>
    public bool DeferReplays { get; init; }
}

/// <summary>What <see cref="LeadScoringEngine.Apply"/> did with a message.</summary>
public enum ApplyOutcome
{
    /// <summary>Applied in order.</summary>
    Applied,
    /// <summary>Late (older than messages already applied for its lead) and put in its exact place.</summary>
    Reordered,
    /// <summary>Older than the reorder horizon: applied as it came, not in its exact place.</summary>
    BeyondHorizon,
    /// <summary>A copy of a message already counted for the lead (same <c>messageId</c>, not earlier): not counted again.</summary>
    Duplicate,
}

/// <summary>Counters of an engine's work.</summary>
public sealed class EngineStatistics
{
    /// <summary>Messages applied in order.</summary>
    public long Applied { get; internal set; }

    /// <summary>Late messages put in their exact place.</summary>
    public long Reordered { get; internal set; }

    /// <summary>Late messages beyond the reorder horizon, applied as they came.</summary>
    public long BeyondHorizon { get; internal set; }

    /// <summary>Duplicates not counted.</summary>
    public long Duplicates { get; internal set; }

    /// <summary>Leads merged because a message linked their ids.</summary>
    public long Merges { get; internal set; }

    /// <summary>Journal replays (rebuilding a lead's state after a late message, a merge, or an account change).</summary>
    public long Replays { get; internal set; }

    /// <summary>All late messages: <see cref="Reordered"/> plus <see cref="BeyondHorizon"/>.</summary>
    public long Late => Reordered + BeyondHorizon;
}

/// <summary>
/// The streaming scoring engine: apply messages one by one as they arrive, in any order, and evaluate any
/// lead at any instant. The result equals the batch result over the same set of messages (spec 2.3) for
/// every message within the reorder horizon. Applying an in-order message costs work proportional to the
/// rules that can match it and allocates nothing in steady state. Not thread-safe: partition leads across
/// engines to scale out (the <see cref="CompiledModel"/> is shared).
/// </summary>
public sealed class LeadScoringEngine
{
    private readonly Dictionary<string, LeadSlot> _byId = new(StringComparer.Ordinal);
    private readonly HashSet<LeadSlot> _slots = [];
    private readonly List<LeadSlot> _changed = [];
    private readonly List<string> _removed = [];
    private readonly AccountBook _accounts;
    private readonly Evaluator _evaluator;
    private readonly long _horizon;

    /// <summary>Creates an engine for a compiled model.</summary>
    public LeadScoringEngine(CompiledModel model, LeadScoringEngineOptions? options = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Options = options ?? LeadScoringEngineOptions.Default;
        _horizon = Options.ReorderHorizon is { } h ? Math.Max(0, h.Ticks) : long.MaxValue;
        _accounts = new AccountBook(this);
        _evaluator = new Evaluator(model, _accounts);
    }

    /// <summary>The compiled model.</summary>
    public CompiledModel Model { get; }

    /// <summary>The options.</summary>
    public LeadScoringEngineOptions Options { get; }

    /// <summary>The engine's counters.</summary>
    public EngineStatistics Statistics { get; } = new();

    /// <summary>How many leads the engine holds.</summary>
    public int LeadCount => _slots.Count;

    /// <summary>Applies one message to its lead.</summary>
    public ApplyOutcome Apply(LeadMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var slot = SlotFor(message);
        MarkChanged(slot);

        // De-duplication (spec 2.1): of several copies only the earliest counts.
        if (slot.ById.TryGetValue(message.MessageId, out var existing))
        {
            Statistics.Duplicates++;
            if (LeadMessage.CompareTotal(existing, message) <= 0)
            {
                return ApplyOutcome.Duplicate;
            }

            // The new copy is earlier (or, at the same time, first by content): it replaces the one counted.
            slot.Remove(existing);
            _accounts.Remove(existing);
            _accounts.Add(message, slot);
            return InsertLate(slot, message);
        }

        _accounts.Add(message, slot);

        if (slot.IsAfterJournal(message))
        {
            slot.Append(message);
            if (!slot.Dirty)
            {
                _evaluator.Apply(slot.Current, message);
                Rotate(slot);
            }

            Statistics.Applied++;
            return ApplyOutcome.Applied;
        }

        return InsertLate(slot, message);
    }

    private ApplyOutcome InsertLate(LeadSlot slot, LeadMessage message)
    {
        if (slot.Base is { } b && !b.IsAfterLast(message.TimestampTicks, message.MessageId))
        {
            // Beyond the horizon: the snapshots already hold this point in time. Apply as it comes to every
            // state the lead keeps, so a later replay does not lose it.
            Rebuild(slot);
            _evaluator.Apply(slot.Current, message);
            _evaluator.Apply(b, message);
            if (slot.Mid is { } mid)
            {
                _evaluator.Apply(mid, message);
            }

            Statistics.BeyondHorizon++;
            return ApplyOutcome.BeyondHorizon;
        }

        slot.Insert(message);
        slot.Dirty = true;
        Statistics.Reordered++;
        if (!Options.DeferReplays)
        {
            Rebuild(slot);
        }

        return ApplyOutcome.Reordered;
    }

    /// <summary>Advances the lead's snapshots so the journal keeps about one to two horizons of messages.</summary>
    private void Rotate(LeadSlot slot)
    {
        if (_horizon == long.MaxValue)
        {
            return;
        }

        var current = slot.Current;
        if (slot.Mid is null)
        {
            if (slot.Journal.Count > 0 && current.LastTicks - slot.Journal[0].TimestampTicks >= _horizon)
            {
                slot.Mid = current.Clone(Model);
            }

            return;
        }

        if (current.LastTicks - slot.Mid.LastTicks < _horizon)
        {
            return;
        }

        // Base <- Mid; Mid <- Current (reusing the old base's buffers); drop journal entries the new base holds.
        var oldBase = slot.Base;
        slot.Base = slot.Mid;
        slot.Mid = oldBase ?? new LeadState(Model);
        slot.Mid.CopyFrom(current);
        slot.TrimThrough(slot.Base);
    }

    /// <summary>Rebuilds the lead's current state from its base snapshot and journal when it is stale.</summary>
    private void Rebuild(LeadSlot slot)
    {
        if (!slot.Dirty)
        {
            return;
        }

        Statistics.Replays++;
        MarkChanged(slot);
        var current = slot.Current;
        if (slot.Base is null)
        {
            current.Reset();
        }
        else
        {
            current.CopyFrom(slot.Base);
        }

        var mid = slot.Mid;
        long midTicks = mid?.LastTicks ?? long.MinValue;
        string? midId = mid?.LastMessageId;
        bool midDone = mid is null;
        foreach (var m in slot.Journal)
        {
            if (!midDone)
            {
                int c = m.TimestampTicks.CompareTo(midTicks);
                if (c > 0 || (c == 0 && string.CompareOrdinal(m.MessageId, midId) > 0))
                {
                    mid!.CopyFrom(current);
                    midDone = true;
                }
            }

            _evaluator.Apply(current, m);
        }

        if (!midDone)
        {
            mid!.CopyFrom(current);
        }

        slot.Dirty = false;
        Rotate(slot);
    }

    private void MarkChanged(LeadSlot slot)
    {
        if (!slot.Changed)
        {
            slot.Changed = true;
            _changed.Add(slot);
        }
    }

    /// <summary>Marks a lead stale because an account it reads changed before its latest message.</summary>
    internal void Invalidate(LeadSlot slot)
    {
        slot.Dirty = true;
        if (!Options.DeferReplays)
        {
            Rebuild(slot);
        }
    }

    private LeadSlot SlotFor(LeadMessage m)
    {
        // The common case: one id, already known. One lookup.
        if (m.AnonymousId is null && m.PreviousId is null && m.UserId is { } only && _byId.TryGetValue(only, out var known))
        {
            return known;
        }

        LeadSlot? slot = null;
        slot = Link(slot, m.UserId);
        slot = Link(slot, m.AnonymousId);
        slot = Link(slot, m.PreviousId);
        if (slot is null)
        {
            slot = new LeadSlot(Model);
            _slots.Add(slot);
        }

        Claim(slot, m.UserId);
        Claim(slot, m.AnonymousId);
        Claim(slot, m.PreviousId);
        return slot;
    }

    private LeadSlot? Link(LeadSlot? slot, string? id)
    {
        if (id is null || !_byId.TryGetValue(id, out var other) || ReferenceEquals(other, slot))
        {
            return slot;
        }

        return slot is null ? other : Merge(slot, other);
    }

    private void Claim(LeadSlot slot, string? id)
    {
        if (id is not null && !_byId.ContainsKey(id))
        {
            _byId[id] = slot;
            slot.Ids.Add(id);
        }
    }

    /// <summary>Spec 2.2: two leads are one; their histories become one journal, replayed in order.</summary>
    private LeadSlot Merge(LeadSlot a, LeadSlot b)
    {
        Statistics.Merges++;
        var (survivor, absorbed) = a.Journal.Count >= b.Journal.Count ? (a, b) : (b, a);
        foreach (var id in absorbed.Ids)
        {
            _byId[id] = survivor;
            survivor.Ids.Add(id);
        }

        foreach (var m in absorbed.Journal)
        {
            if (survivor.ById.TryGetValue(m.MessageId, out var dup))
            {
                Statistics.Duplicates++;
                if (LeadMessage.CompareTotal(dup, m) <= 0)
                {
                    _accounts.Remove(m);
                    continue;
                }

                survivor.Remove(dup);
                _accounts.Remove(dup);
            }

            survivor.Insert(m);
        }

        if (absorbed.Base is not null)
        {
            // Beyond the horizon both leads hold only snapshots of their older history: fold the absorbed one in.
            survivor.Base ??= new LeadState(Model);
            LeadStateMerger.MergeInto(survivor.Base, absorbed.Base);
            survivor.Mid = null;
        }

        _accounts.Move(absorbed, survivor);
        _slots.Remove(absorbed);
        absorbed.Removed = true;
        if (absorbed.PersistedId is { } gone)
        {
            _removed.Add(gone);
        }

        survivor.Dirty = true;
        if (!Options.DeferReplays)
        {
            Rebuild(survivor);
        }

        return survivor;
    }

    /// <summary>Evaluates the lead known by <paramref name="leadId"/> (any of its linked ids) at <paramref name="asOf"/>.</summary>
    /// <returns>The result, or <see langword="null"/> when no message of that id was applied up to <paramref name="asOf"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The lead's history before <paramref name="asOf"/> is beyond the reorder horizon.</exception>
    public LeadResult? Evaluate(string leadId, DateTimeOffset asOf, bool explain = false)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        return _byId.TryGetValue(leadId, out var slot) ? Evaluate(slot, asOf.UtcTicks, explain) : null;
    }

    /// <summary>Evaluates every lead at <paramref name="asOf"/>, ordered by lead id (ordinal).</summary>
    public IEnumerable<LeadResult> EvaluateAll(DateTimeOffset asOf, bool explain = false)
    {
        foreach (var slot in _slots)
        {
            Rebuild(slot);
        }

        var ordered = _slots.Select(s => (Id: s.ReportedId, Slot: s)).OrderBy(x => x.Id, StringComparer.Ordinal).ToList();
        foreach (var (_, slot) in ordered)
        {
            // A lead whose every message is after the as-of time did not exist yet.
            if (Evaluate(slot, asOf.UtcTicks, explain) is { } result)
            {
                yield return result;
            }
        }
    }

    /// <summary>The reported ids of every lead, ordered (ordinal).</summary>
    public IReadOnlyList<string> LeadIds()
    {
        foreach (var slot in _slots)
        {
            Rebuild(slot);
        }

        return _slots.Select(s => s.ReportedId).OrderBy(x => x, StringComparer.Ordinal).ToList();
    }

    private LeadResult? Evaluate(LeadSlot slot, long asOf, bool explain)
    {
        Rebuild(slot);
        var state = slot.Current;
        if (state.LastTicks > asOf)
        {
            // The past: replay the messages up to the as-of time into a scratch state. Only the journal's span
            // can be replayed; older instants were folded into the base snapshot.
            if (slot.Base is { } b && b.LastTicks > asOf)
            {
                throw new ArgumentOutOfRangeException(nameof(asOf), asOf,
                    $"Lead '{slot.ReportedId}' keeps its history only from {new DateTimeOffset(b.LastTicks, TimeSpan.Zero):O} (the reorder horizon); it cannot be scored as of an earlier time. Use an unbounded ReorderHorizon to score the past.");
            }

            state = slot.Base?.Clone(Model) ?? new LeadState(Model);
            foreach (var m in slot.Journal)
            {
                if (m.TimestampTicks <= asOf)
                {
                    _evaluator.Apply(state, m);
                }
            }

            if (state.MessageCount == 0)
            {
                return null;
            }
        }

        return _evaluator.Evaluate(state, slot.ReportedId, asOf, explain);
    }

    /// <summary>Exports the lead known by <paramref name="leadId"/> (any of its ids) for a store; null when unknown.</summary>
    public LeadSnapshot? ExportLead(string leadId)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        if (!_byId.TryGetValue(leadId, out var slot))
        {
            return null;
        }

        Rebuild(slot);
        return new LeadSnapshot(
            slot.ReportedId,
            [.. slot.Ids.Order(StringComparer.Ordinal)],
            LeadStateCodec.Encode(slot.Current, Model),
            slot.Base is null ? (ReadOnlyMemory<byte>?)null : LeadStateCodec.Encode(slot.Base, Model),
            [.. slot.Journal]);
    }

    /// <summary>Exports every lead, ordered by lead id.</summary>
    public IEnumerable<LeadSnapshot> ExportLeads() =>
        LeadIds().Select(id => ExportLead(id)!);

    /// <summary>
    /// Restores a lead exported by <see cref="ExportLead"/> under the same model (same name, version and rules).
    /// The journal may also be every message the lead ever had (for example read back from a message log): messages
    /// the base snapshot already holds and duplicate copies are skipped;
    /// a state written for another model throws <see cref="InvalidDataException"/>: re-score from the journal.
    /// A lead already holding one of the ids is replaced.
    /// </summary>
    public void ImportLead(LeadSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var current = LeadStateCodec.Decode(snapshot.State.Span, Model);
        var baseState = snapshot.BaseState is { IsEmpty: false } b ? LeadStateCodec.Decode(b.Span, Model) : null;
        foreach (var id in snapshot.Ids)
        {
            if (_byId.TryGetValue(id, out var old))
            {
                _slots.Remove(old);
                foreach (var oldId in old.Ids)
                {
                    _byId.Remove(oldId);
                }
            }
        }

        var slot = new LeadSlot(Model) { Current = current, Base = baseState };
        foreach (var m in snapshot.Journal)
        {
            // A store may hand over the lead's whole message log: keep what follows the base snapshot, and of
            // several copies of one message the one that counts (spec 2.1).
            if (baseState is not null && !baseState.IsAfterLast(m.TimestampTicks, m.MessageId))
            {
                continue;
            }

            if (slot.ById.TryGetValue(m.MessageId, out var other))
            {
                if (LeadMessage.CompareTotal(other, m) <= 0)
                {
                    continue;
                }

                slot.Remove(other);
                slot.Dirty = false;
            }

            slot.Insert(m);
            _accounts.Add(m, slot);
        }

        foreach (var id in snapshot.Ids)
        {
            _byId[id] = slot;
            slot.Ids.Add(id);
        }

        if (current.GroupId is not null)
        {
            _accounts.Join(current.GroupId, slot);
        }

        slot.PersistedId = snapshot.LeadId;
        _slots.Add(slot);
    }

    /// <summary>
    /// The leads whose state changed since the last call (applied messages, replays, merges, imports), and the ids
    /// under which leads were exported before that no longer name a lead (merged away, or now reported under
    /// another id). A store saves the first and deletes the second; the call marks the changed leads as saved.
    /// </summary>
    public LeadChanges TakeChanges()
    {
        var changed = new List<string>(_changed.Count);
        var removed = new List<string>(_removed);
        foreach (var slot in _changed)
        {
            if (slot.Removed)
            {
                slot.Changed = false;
                continue;
            }

            // While the flag is still set, the rebuild cannot add the slot to the list being read.
            Rebuild(slot);
            slot.Changed = false;
            string id = slot.ReportedId;
            if (slot.PersistedId is { } old && old != id)
            {
                removed.Add(old);
            }

            slot.PersistedId = id;
            changed.Add(id);
        }

        _changed.Clear();
        _removed.Clear();
        removed.RemoveAll(changed.Contains);
        changed.Sort(StringComparer.Ordinal);
        return new LeadChanges(changed, removed);
    }

    /// <summary>Removes a lead (for example to move it to another engine); returns false when unknown.</summary>
    public bool RemoveLead(string leadId)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        if (!_byId.TryGetValue(leadId, out var slot))
        {
            return false;
        }

        foreach (var id in slot.Ids)
        {
            _byId.Remove(id);
        }

        _accounts.Leave(slot);
        _slots.Remove(slot);
        slot.Removed = true;
        return true;
    }

    /// <summary>Whether any of <paramref name="leadId"/>'s ids is known.</summary>
    public bool Contains(string leadId) => _byId.ContainsKey(leadId ?? throw new ArgumentNullException(nameof(leadId)));

    /// <summary>
    /// The lead as of its latest message, as the streaming state holds it: scores, grade and persona at that
    /// instant and the stage history so far, without the extra stage re-evaluation an as-of time adds.
    /// </summary>
    public LeadResult? EvaluateLatest(string leadId, bool explain = false)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        if (!_byId.TryGetValue(leadId, out var slot))
        {
            return null;
        }

        Rebuild(slot);
        return _evaluator.Evaluate(slot.Current, slot.ReportedId, slot.Current.LastTicks, explain, reevaluateStage: false);
    }

    /// <summary>Every counted group message: the account traits all leads read (spec 3.5). Persist them beside the leads.</summary>
    public IReadOnlyList<LeadMessage> ExportAccountMessages() => _accounts.AllMessages();

    /// <summary>
    /// Adds group messages counted elsewhere (restored from a store, or applied by another engine that shares the
    /// accounts); members of those accounts that already applied later messages are replayed.
    /// </summary>
    public void ImportAccountMessages(IEnumerable<LeadMessage> groupMessages)
    {
        ArgumentNullException.ThrowIfNull(groupMessages);
        foreach (var m in groupMessages)
        {
            _accounts.AddUnowned(m);
        }
    }

    internal int JournalLength(string leadId) => _byId.TryGetValue(leadId, out var slot) ? slot.Journal.Count : 0;

    private sealed class AccountBook(LeadScoringEngine engine) : IAccountDirectory
    {
        private readonly Dictionary<string, Account> _accounts = new(StringComparer.Ordinal);

        /// <summary>Records a counted group message; a no-op for other messages or when no condition reads accounts.</summary>
        public void Add(LeadMessage m, LeadSlot from)
        {
            if (m.Type != MessageType.Group || !engine.Model.UsesAccount)
            {
                return;
            }

            if (!_accounts.TryGetValue(m.GroupId!, out var account))
            {
                _accounts[m.GroupId!] = account = new Account();
            }

            account.Members.Add(from);
            from.Groups.Add(m.GroupId!);
            int at = account.Entries.BinarySearch(m, MessageOrder.Instance);
            if (at >= 0)
            {
                return;
            }

            at = ~at;
            account.Entries.Insert(at, m);
            account.Merge(m);
            if (at < account.Entries.Count - 1)
            {
                account.Rebuild();
            }

            InvalidateAfter(account, m, from);
        }

        public void Join(string groupId, LeadSlot slot)
        {
            if (_accounts.TryGetValue(groupId, out var account))
            {
                account.Members.Add(slot);
                slot.Groups.Add(groupId);
            }
        }

        public void AddUnowned(LeadMessage m)
        {
            if (m.Type != MessageType.Group || !engine.Model.UsesAccount)
            {
                return;
            }

            if (!_accounts.TryGetValue(m.GroupId!, out var account))
            {
                _accounts[m.GroupId!] = account = new Account();
            }

            int at = account.Entries.BinarySearch(m, MessageOrder.Instance);
            if (at < 0)
            {
                account.Entries.Insert(~at, m);
                account.Rebuild();
                InvalidateAfter(account, m, null);
            }
        }

        public void Leave(LeadSlot slot)
        {
            foreach (var g in slot.Groups)
            {
                if (_accounts.TryGetValue(g, out var account))
                {
                    account.Members.Remove(slot);
                }
            }
        }

        public IReadOnlyList<LeadMessage> AllMessages() =>
            _accounts.OrderBy(a => a.Key, StringComparer.Ordinal).SelectMany(a => a.Value.Entries).ToList();

        /// <summary>Forgets a group message that turned out to be a duplicate.</summary>
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
            InvalidateAfter(account, m, null);
        }

        private void InvalidateAfter(Account account, LeadMessage m, LeadSlot? from)
        {
            // Any other member that already applied later messages read the account without this change.
            foreach (var member in account.Members)
            {
                if (!ReferenceEquals(member, from) && member.LastKeyAfter(m))
                {
                    engine.Invalidate(member);
                }
            }
        }

        public void Move(LeadSlot from, LeadSlot to)
        {
            foreach (var g in from.Groups)
            {
                if (_accounts.TryGetValue(g, out var account))
                {
                    account.Members.Remove(from);
                    account.Members.Add(to);
                    to.Groups.Add(g);
                }
            }
        }

        public Dictionary<string, DataValue>? TraitsAt(string groupId, long ticks, string? messageId)
        {
            if (!_accounts.TryGetValue(groupId, out var account) || account.Entries.Count == 0)
            {
                return null;
            }

            var last = account.Entries[^1];
            if (!IsAfter(last, ticks, messageId))
            {
                return account.Merged;
            }

            return account.At(ticks, messageId);
        }

        private static bool IsAfter(LeadMessage m, long ticks, string? messageId)
        {
            int c = m.TimestampTicks.CompareTo(ticks);
            return c > 0 || (c == 0 && messageId is not null && string.CompareOrdinal(m.MessageId, messageId) > 0);
        }

        private sealed class Account
        {
            public readonly List<LeadMessage> Entries = [];
            public readonly HashSet<LeadSlot> Members = [];
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
}

/// <summary>Orders messages by (timestamp, message id), spec 2.3, then by content for exact ties.</summary>
internal sealed class MessageOrder : IComparer<LeadMessage>
{
    public static readonly MessageOrder Instance = new();

    public int Compare(LeadMessage? x, LeadMessage? y) => LeadMessage.CompareTotal(x!, y!);
}

/// <summary>One lead inside the engine: its ids, journal, snapshots and current state.</summary>
internal sealed class LeadSlot(CompiledModel model)
{
    public readonly HashSet<string> Ids = new(StringComparer.Ordinal);
    public readonly HashSet<string> Groups = new(StringComparer.Ordinal);

    /// <summary>The messages after <see cref="Base"/>, in spec 2.3 order.</summary>
    public readonly List<LeadMessage> Journal = [];

    /// <summary>The journal's messages by id, for de-duplication.</summary>
    public readonly Dictionary<string, LeadMessage> ById = new(StringComparer.Ordinal);

    public LeadState Current = new(model);


    /// <summary>The state after every message older than the journal; null: the empty lead.</summary>
    public LeadState? Base;

    /// <summary>A later snapshot that becomes <see cref="Base"/> once the lead has moved a horizon past it.</summary>
    public LeadState? Mid;

    /// <summary>Whether <see cref="Current"/> is stale and must be rebuilt from <see cref="Base"/> and the journal.</summary>
    public bool Dirty;

    /// <summary>The id this lead was last handed out under by <see cref="LeadScoringEngine.TakeChanges"/> or imported with.</summary>
    public string? PersistedId;

    /// <summary>Whether the lead is in the engine's list of leads changed since <see cref="LeadScoringEngine.TakeChanges"/>.</summary>
    public bool Changed;

    /// <summary>Whether the lead was merged into another or removed.</summary>
    public bool Removed;

    public string ReportedId => Current.UserId ?? Current.AnonymousId ?? Ids.Order(StringComparer.Ordinal).First();

    public bool IsAfterJournal(LeadMessage m) =>
        Journal.Count == 0
            ? Base is null || Base.IsAfterLast(m.TimestampTicks, m.MessageId)
            : LeadMessage.CompareOrder(m, Journal[^1]) > 0;

    public bool LastKeyAfter(LeadMessage m) =>
        Journal.Count > 0 && LeadMessage.CompareOrder(Journal[^1], m) > 0;

    public void Append(LeadMessage m)
    {
        Journal.Add(m);
        ById[m.MessageId] = m;
    }

    public void Insert(LeadMessage m)
    {
        int at = Journal.BinarySearch(m, MessageOrder.Instance);
        Journal.Insert(at < 0 ? ~at : at, m);
        ById[m.MessageId] = m;
    }

    public void Remove(LeadMessage m)
    {
        int at = Journal.BinarySearch(m, MessageOrder.Instance);
        if (at >= 0)
        {
            Journal.RemoveAt(at);
        }

        ById.Remove(m.MessageId);
        Dirty = true;
    }

    /// <summary>Drops the journal's messages that <paramref name="snapshot"/> already holds.</summary>
    public void TrimThrough(LeadState snapshot)
    {
        int n = 0;
        while (n < Journal.Count && !snapshot.IsAfterLast(Journal[n].TimestampTicks, Journal[n].MessageId))
        {
            ById.Remove(Journal[n].MessageId);
            n++;
        }

        Journal.RemoveRange(0, n);
    }
}
