using System.Collections.Immutable;
using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>Options of a <see cref="LeadScoringEngine"/>.</summary>
public sealed record LeadScoringEngineOptions
{
    /// <summary>The default options.</summary>
    public static LeadScoringEngineOptions Default { get; } = new();

    /// <summary>
    /// How far back, from a lead's newest message, the engine keeps the lead's messages to replay them. Older messages
    /// are folded into a base state and released from the <see cref="MessageHistory"/>, so memory does not grow with a
    /// lead's age. A late message older than that is applied to the base as it comes (not in its exact place) and
    /// counted in <see cref="EngineStatistics.BeyondHorizon"/>; a copy of a folded message is still recognised (by a
    /// 64-bit hash of its id); when two leads whose histories both reach past the horizon merge, the absorbed lead's
    /// folded part is not carried over (counted the same way). <see langword="null"/>: unbounded, exact for any arrival
    /// order (what <c>leadscore score</c> uses). Default 30 days.
    /// </summary>
    public TimeSpan? ReorderHorizon { get; init; } = TimeSpan.FromDays(30);

    /// <summary>
    /// When <see langword="false"/> (default), a lead whose history changed in the past (a late message, an earlier
    /// copy of a counted message, a merge, an account change before its latest message) is replayed at once, so its
    /// state is always current: by <see cref="LeadScoringEngine.Apply(LeadMessage)"/> before it returns, and by the batch
    /// apply when the batch ends (each lead the batch made stale once). When <see langword="true"/>, replays wait until
    /// the lead is read (evaluated, exported): a shuffled file then costs one replay per lead instead of one per late
    /// message. Results are the same.
    /// </summary>
    public bool DeferReplays { get; init; }

    /// <summary>
    /// How many messages to make room for up front in the engine's history index (40 bytes each: an entry and
    /// lookup-table room) and in the default in-memory history (8 bytes each); past that both grow in chunks, so a
    /// good estimate makes in-order scoring allocate nothing. Default 1,024.
    /// </summary>
    public int ExpectedMessages { get; init; } = 1024;
}

/// <summary>What <see cref="LeadScoringEngine.Apply(LeadMessage)"/> did with a message.</summary>
public enum ApplyOutcome
{
    /// <summary>Applied in order.</summary>
    Applied,
    /// <summary>Late (older than messages already applied for its lead) and put in its exact place.</summary>
    Reordered,
    /// <summary>
    /// Older than the lead's reorder horizon (<see cref="LeadScoringEngineOptions.ReorderHorizon"/>): applied to its
    /// folded base state as it came, not in its exact place.
    /// </summary>
    BeyondHorizon,
    /// <summary>A copy of a message already counted for the lead (same <c>messageId</c>, not earlier): not counted again.</summary>
    Duplicate,
}

/// <summary>Counters of an engine's work.</summary>
public sealed class EngineStatistics
{
    /// <summary>Messages applied in order.</summary>
    public long Applied { get; internal set; }

    /// <summary>Late messages put in their exact place (an earlier copy that replaces a counted one is counted in <see cref="Duplicates"/> only).</summary>
    public long Reordered { get; internal set; }

    /// <summary>
    /// Messages that could not be put in their exact place because it is older than the reorder horizon: late ones
    /// applied to a folded base as they came, and folded messages of a lead absorbed by a merge that were not carried over.
    /// </summary>
    public long BeyondHorizon { get; internal set; }

    /// <summary>Copies of counted messages (retries): not counted again, or replacing a later copy.</summary>
    public long Duplicates { get; internal set; }

    /// <summary>Leads merged because a message linked their ids.</summary>
    public long Merges { get; internal set; }

    /// <summary>Lead replays (rebuilding a lead from its history after a late message, a merge, or an account change).</summary>
    public long Replays { get; internal set; }

    /// <summary>All late messages: <see cref="Reordered"/> plus <see cref="BeyondHorizon"/>.</summary>
    public long Late => Reordered + BeyondHorizon;
}

/// <summary>
/// The scoring engine: apply messages one by one as they arrive, in any order, and evaluate any lead at any instant.
/// The result is the contract's for the set of messages applied, whatever their arrival order (spec 2.3).
/// </summary>
/// <remarks>
/// <para>
/// An in-order message of a lead (the common case: a live feed, a log replayed from disk) goes straight into the
/// lead's compact row and allocates nothing. Where the model allows it (no more than one stage, no decay or expiry,
/// no per-value limits, no <c>after</c>, no <c>occurred</c>, no account fields), a row is flat arrays: counters and
/// limit windows at a fixed offset and the bits of the trait conditions the event rules test; other models keep a full
/// lead state per row, with the same results.
/// </para>
/// <para>
/// Every counted message is kept in a <see cref="MessageHistory"/> (in memory by default; the command-line tool
/// keeps file offsets; the hosting package keeps each message's place in the store's message log). It is read back
/// to replay a lead (the cases below), to confirm a copy, to break a tie of timestamps and to score the past; never
/// by the in-order step. A late message, an earlier copy of a counted message, a link that merges two leads, or an
/// account change before a member's latest message makes the engine replay only the leads concerned from their
/// history, through the same in-order step: scoring a sorted file and scoring it shuffled run the same code.
/// A copy of any counted message (same lead, same <c>messageId</c>) is found with one hash probe and not counted
/// again; of two copies the earliest counts (spec 2.1).
/// </para>
/// <para>Not thread-safe: use one engine per thread or partition. The <see cref="CompiledModel"/> may be shared.</para>
/// </remarks>
public sealed partial class LeadScoringEngine
{
    private readonly Evaluator _evaluator;
    private readonly AccountBook _accounts;
    private readonly MessageHistory _history;
    private readonly HistoryIndex _index;
    private readonly List<int> _changed = [];
    private readonly List<string> _removedIds = [];
    /// <summary>A lead's kept messages with their order keys and field bits as the index noted them, in spec 2.3 order (<see cref="CollectHistory"/>); reused.</summary>
    private readonly List<ReplayItem> _replay = [];
    private readonly long _horizon;

    /// <summary>Creates an engine for a compiled model.</summary>
    /// <param name="model">The compiled model.</param>
    /// <param name="options">The options; null for the defaults.</param>
    /// <param name="history">
    /// Where counted messages are kept for replays; null for an <see cref="InMemoryMessageHistory"/> with room for
    /// <see cref="LeadScoringEngineOptions.ExpectedMessages"/>.
    /// </param>
    public LeadScoringEngine(CompiledModel model, LeadScoringEngineOptions? options = null, MessageHistory? history = null)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        Options = options ?? LeadScoringEngineOptions.Default;
        _history = history ?? new InMemoryMessageHistory(Options.ExpectedMessages);
        _keepLastIds = _history.ReadsAreCostly;
        _index = new HistoryIndex(Options.ExpectedMessages);
        _memoryHistory = _history as InMemoryMessageHistory;
        _horizon = Options.ReorderHorizon is { } h ? Math.Max(0, h.Ticks) : long.MaxValue;
        _accounts = new AccountBook(model, Invalidate, AppliedAfter);
        _evaluator = new Evaluator(model, _accounts);
        _plan = FastPlan.TryCreate(model);
        _scratch = new LeadState(model) { Traits = new Dictionary<string, DataValue>(StringComparer.Ordinal) };
        _countStride = model.EventRuleCount * 2;
        _ringStride = model.RingSlots;
        _windowStride = model.RingCount;
        _cellStride = _countStride + _windowStride;
        _raw = new double[model.Scores.Length];
        _values = new double[model.Scores.Length];
        _emptyTraitBits = _plan is null ? 0 : TraitBitsOf(null);
        InitRows();
    }

    /// <summary>The compiled model.</summary>
    public CompiledModel Model { get; }

    /// <summary>The options.</summary>
    public LeadScoringEngineOptions Options { get; }

    /// <summary>The engine's counters.</summary>
    public EngineStatistics Statistics { get; } = new();

    /// <summary>How many leads the engine holds.</summary>
    public int LeadCount => _rowCount - _removed;

    /// <summary>
    /// Whether leads are kept as flat rows (the model allows it), rather than a full lead state each. Both give the
    /// same results; flat rows are smaller and faster.
    /// </summary>
    internal bool UsesFlatRows => _plan is not null;

    /// <summary>How many rows the engine has room for (leads, merged-away leads and room to grow).</summary>
    internal int RowCapacity => _rows.Length;

    /// <summary>Bytes of the engine's per-message history index (not counting what the <see cref="MessageHistory"/> keeps).</summary>
    internal long HistoryIndexBytes => _index.Bytes;

    /// <summary>Applies one message to its lead.</summary>
    public ApplyOutcome Apply(LeadMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_plan is { } plan)
        {
            // One message at a time nothing is worked ahead (as the batch apply does), so the misses are overlapped
            // here: the lead's id-table entry and the message's slot in the id-hash table are fetched before the
            // field bits are worked out (they depend only on the message, so their reads overlap those), and the
            // row's lines all at once as soon as the row is known, rather than each when the step first reads it.
            _ids.Hint(message.UserIdHash);
            _index.Hint(message.IdHash);
            if (HotShape(plan, message, out var set, out ulong messageBits))
            {
                int row = _ids.Find(message.UserId!, message.UserIdHash);
                HintRow(row);
                return ApplyHot(message, row, set, messageBits, message.IdHash);
            }
        }

        return ApplyGeneral(message);
    }

    /// <summary>
    /// Whether <paramref name="message"/> can take the hot path (flat rows: a track, page or identify message by its
    /// user id alone), with the rule set and field bits it needs there. They depend only on the message and the model.
    /// </summary>
    private bool HotShape(FastPlan plan, LeadMessage message, out FastRuleSet? set, out ulong messageBits)
    {
        set = null;
        messageBits = 0;
        if (message.UserId is null || message.AnonymousId is not null || message.PreviousId is not null)
        {
            return false;
        }

        if (message.Type is not (MessageType.Page or MessageType.Track or MessageType.Identify))
        {
            return false;
        }

        set = RuleSetOf(plan, message);
        messageBits = set is null ? 0 : MessageBits(set, message);
        return true;
    }

    /// <summary>
    /// The hot path: the next message of a known lead (<paramref name="row"/>, or -1), in order, and no copy of an
    /// earlier one, goes straight into its flat row; anything else goes the general way.
    /// </summary>
    private ApplyOutcome ApplyHot(LeadMessage message, int row, FastRuleSet? set, ulong messageBits, ulong hash)
    {
        if (row >= 0)
        {
            if (_hot[row].FoldQueued)
            {
                // The lead's fold fell due earlier in this batch: it runs now, as it would have one message at a time.
                FoldNow(row);
            }

            ref HotRow r = ref _hot[row];
            long t = message.TimestampTicks;
            string user = message.UserId!;
            if (t > r.LastTicks && !r.Dirty && r.UserId is { } known && (ReferenceEquals(user, known) || string.Equals(user, known, StringComparison.Ordinal)))
            {
                // A copy of any earlier message of the lead? Its id bloom rules most messages out without a probe.
                ulong bloom = BloomBits(hash);
                if ((r.IdBloom & bloom) != bloom || FindCopy(row, hash, message.MessageId) == NoCopy)
                {
                    ApplyFlat(row, set, messageBits, message);
                    Record(row, message, hash, messageBits, afterEvery: true);
                    Statistics.Applied++;
                    return ApplyOutcome.Applied;
                }
            }
        }

        return ApplyGeneral(message, hash);
    }

    /// <summary>
    /// Applies messages in order, exactly as <see cref="Apply(LeadMessage)"/> one by one, and writes each one's outcome.
    /// On flat rows it works in chunks of <see cref="LookAhead.Chunk"/>: first it works out each message's field bits and
    /// starts fetching its lead's id-table entry (independent work, whose memory reads the processor overlaps), and
    /// fetches both cache lines of the message 16 places on and the properties of the message 8 on; then it finds every
    /// message's row (the entries have arrived by then) and starts fetching the message's slot in the id-hash table of
    /// kept messages; then, applying one message, it starts fetching the row of the message <see cref="LookAhead.Near"/>
    /// places on. The ids' hashes were worked out when each message was made (<see cref="LeadMessage.IdHash"/>), so
    /// neither id string is read unless a lookup meets another string with the same hash; the lead's row is usually in
    /// the cache when its message comes (per message the cost is dominated by memory reads once leads outnumber the cache).
    /// </summary>
    /// <param name="messages">The messages, in arrival order.</param>
    /// <param name="outcomes">Receives the outcome of each message, at its index; at least as long as <paramref name="messages"/>.</param>
    public void Apply(ReadOnlySpan<LeadMessage> messages, Span<ApplyOutcome> outcomes)
    {
        if (outcomes.Length < messages.Length)
        {
            throw new ArgumentException($"{outcomes.Length} places for the outcomes of {messages.Length} messages.", nameof(outcomes));
        }

        if (_plan is not { } plan)
        {
            for (int i = 0; i < messages.Length; i++)
            {
                outcomes[i] = Apply(messages[i]);
            }

            return;
        }

        _inBatch = true;
        try
        {
            ApplyChunks(plan, messages, outcomes);
            RunWaitingFolds();
        }
        catch
        {
            // A message failed (a history that could not be read): the leads made stale so far stay stale, and are
            // replayed when read, as with DeferReplays; the next calls replay at once again. A fold left waiting stays
            // due, and runs at the lead's next message.
            _inBatch = false;
            _staleInBatch.Clear();
            foreach (int row in _foldsInBatch)
            {
                _hot[row].FoldQueued = false;
            }

            _foldsInBatch.Clear();
            throw;
        }

        _inBatch = false;
        ReplayStale();
    }

    /// <summary>The batch apply on flat rows, in chunks of <see cref="LookAhead.Chunk"/>.</summary>
    private void ApplyChunks(FastPlan plan, ReadOnlySpan<LeadMessage> messages, Span<ApplyOutcome> outcomes)
    {
        // In chunks: first every message's shape, field bits and id hashes (independent of each other, so the
        // processor overlaps their memory reads), then each message applied with its lead's row found a few ahead.
        var ahead = _ahead;
        for (int start = 0; start < messages.Length; start += ahead.Length)
        {
            var chunk = messages.Slice(start, Math.Min(ahead.Length, messages.Length - start));
            int n = chunk.Length;
            for (int j = 0; j < n; j++)
            {
                // Fetching ahead: both cache lines of the message 16 on (its fields span two: the properties and the
                // time are on the second), then the properties of the message 8 on (its field bits read them). The id
                // strings are not fetched: the message carries their hashes, and the id table compares ids by reference first.
                if (j + (2 * LookAhead.Near) < n && chunk[j + (2 * LookAhead.Near)] is { } far)
                {
                    MemoryHint.Prefetch(far);
                    MemoryHint.Prefetch(far, MemoryHint.Line);
                }

                if (j + LookAhead.Near < n && chunk[j + LookAhead.Near] is { } near)
                {
                    MemoryHint.Prefetch(near.Properties);
                }

                Prepare(plan, chunk[j], ref ahead[j]);
            }

            // Every hot message's row, in a pass of its own: the id-table entries were fetched while the chunk was
            // prepared, so these lookups rarely wait. A merge applied before a message's turn changes the table's
            // version, and the message's row is then looked up again (so is a row unknown here: a new lead).
            for (int j = 0; j < n; j++)
            {
                Locate(chunk[j], ref ahead[j]);
            }

            for (int j = 0; j < Math.Min(LookAhead.Near, n); j++)
            {
                Fetch(ref ahead[j]);
            }

            for (int i = 0; i < n; i++)
            {
                if (i + LookAhead.Near < n)
                {
                    Fetch(ref ahead[i + LookAhead.Near]);
                }

                ref LookAhead a = ref ahead[i];
                var m = chunk[i];
                if (!a.Hot)
                {
                    outcomes[start + i] = Apply(m);
                    continue;
                }

                // The row was found when the chunk began: a merge since then may have moved the id (ApplyHot would
                // also refuse a merged-away row: it has no user id), and a lead unknown then may be known now.
                int row = a.Row >= 0 && a.IdsVersion == _ids.Version ? a.Row : _ids.Find(m.UserId!, a.UserHash);
                outcomes[start + i] = ApplyHot(m, row, a.Set, a.Bits, a.IdHash);
            }
        }
    }

    /// <summary>The batch apply's first look at a message: its shape, rule set, field bits and id hashes.</summary>
    private void Prepare(FastPlan plan, LeadMessage? m, ref LookAhead a)
    {
        a.Hot = m is not null && HotShape(plan, m, out a.Set, out a.Bits);
        if (a.Hot)
        {
            a.IdHash = m!.IdHash;
            a.UserHash = m.UserIdHash;
            _ids.Hint(a.UserHash);
        }
        else
        {
            a.Set = null;
        }
    }

    /// <summary>The batch apply's second look: the lead's row (-1 for a lead not known yet).</summary>
    private void Locate(LeadMessage? m, ref LookAhead a)
    {
        if (a.Hot)
        {
            a.Row = _ids.Find(m!.UserId!, a.UserHash);
            a.IdsVersion = _ids.Version;

            // The message's slot in the id-hash table, which the in-order step writes: fetched here, well before the
            // message's turn (fetched only a few messages ahead, with the row, it often had not arrived).
            _index.Hint(a.IdHash);
        }
    }

    /// <summary>The batch apply's third look, a few messages before the message's turn: starts fetching its lead's row and its slot in the id-hash table.</summary>
    private void Fetch(ref LookAhead a)
    {
        if (a.Hot)
        {
            HintRow(a.Row);
        }
    }

    private readonly LookAhead[] _ahead = new LookAhead[LookAhead.Chunk];

    /// <summary>
    /// The history when it is the built-in in-memory one, else null. Kept by its type, so a message is added without a
    /// virtual call; and it hands back the objects it was given, so a read needs fewer checks (<see cref="Read"/>).
    /// </summary>
    private readonly InMemoryMessageHistory? _memoryHistory;

    /// <summary>What the batch apply works out about a message before its turn.</summary>
    private struct LookAhead
    {
        /// <summary>How many messages are looked at before any of them is applied.</summary>
        public const int Chunk = 256;

        /// <summary>How many messages ahead the lead's row is found and fetched.</summary>
        public const int Near = 8;

        public FastRuleSet? Set;
        public ulong Bits;
        public ulong IdHash;
        public int UserHash;
        public int Row;
        public int IdsVersion;
        public bool Hot;
    }

    /// <summary>Starts fetching a flat row's hot row, counters and window times (prefetch hints).</summary>
    private void HintRow(int row)
    {
        if ((uint)row >= (uint)_rowCount)
        {
            return;
        }

        MemoryHint.Prefetch(ref _hot[row], 1);
        int cells = row * _cellStride;
        if (_cellStride == 0)
        {
            // A model without event rules: nothing but the hot row.
        }
        else if (_cells32 is { } wide)
        {
            MemoryHint.Prefetch(ref wide[cells], _cellStride);
        }
        else
        {
            MemoryHint.Prefetch(ref _cells16[cells], _cellStride);
        }

        if (_ringStride > 0)
        {
            int ring = row * _ringStride;
            if (_ring64 is { } wideRing)
            {
                MemoryHint.Prefetch(ref wideRing[ring], _ringStride);
            }
            else
            {
                MemoryHint.Prefetch(ref _ring32[ring], _ringStride);
            }
        }
    }

    /// <summary>
    /// Parses one Segment message from UTF-8 JSON (one line of a JSON Lines file) with <see cref="MessageParser"/> and
    /// applies it. A message that cannot be used is not applied: the result carries the reason.
    /// </summary>
    public JsonApplyResult ApplyJson(ReadOnlySpan<byte> utf8Json)
    {
        var parsed = MessageParser.Parse(utf8Json);
        return parsed.Message is { } m
            ? new JsonApplyResult(Apply(m), null, null)
            : new JsonApplyResult(ApplyOutcome.Applied, parsed.Error, parsed.IgnoredType);
    }

    /// <summary>Every message but the hot path's: new leads, links, late messages, copies, group and alias messages.</summary>
    private ApplyOutcome ApplyGeneral(LeadMessage m) => ApplyGeneral(m, m.IdHash);

    /// <summary><see cref="ApplyGeneral(LeadMessage)"/> with the message id's hash already worked out (by the hot path that declined it).</summary>
    private ApplyOutcome ApplyGeneral(LeadMessage m, ulong hash)
    {
        if (_foldsInBatch.Count > 0)
        {
            // A message the general way may merge leads, change an account or reach into a lead's past: the batch's
            // folds due so far run first, so that each sees what it would have one message at a time.
            RunWaitingFolds();
        }

        int row = RowFor(m);
        int copy = FindCopy(row, hash, m.MessageId);
        if (copy >= 0)
        {
            // De-duplication (spec 2.1): of several copies only the earliest counts.
            Statistics.Duplicates++;
            var counted = Read(copy);
            if (LeadMessage.CompareTotal(counted, m) <= 0)
            {
                return ApplyOutcome.Duplicate;
            }

            // The new copy is earlier (or, at the same time, first by content): it replaces the one counted.
            PinLastId(row);
            Release(copy);
            _accounts.Remove(counted);
            _accounts.Add(m, row);
            Record(row, m, hash, FieldBitsOf(m));
            MarkStale(row);
            return ApplyOutcome.Reordered;
        }

        if (copy == FoldedCopy)
        {
            // A copy of a message folded into the lead's base state (recognised by its id's hash).
            Statistics.Duplicates++;
            return ApplyOutcome.Duplicate;
        }

        if (IsFolded(row, m))
        {
            _accounts.Add(m, row);
            _index.Add(row, -1, m.TimestampTicks, hash, ~0L); // for de-duplication only
            _hot[row].IdBloom |= BloomBits(hash);
            FoldLate(row, m);
            MarkChanged(row);
            _hot[row].Dirty = true;
            Replay(row);
            return ApplyOutcome.BeyondHorizon;
        }

        _accounts.Add(m, row);
        bool inOrder = IsAfterLast(row, m.TimestampTicks, m.MessageId);
        ulong bits = FieldBitsOf(m);
        if (!inOrder)
        {
            Record(row, m, hash, bits);
            Statistics.Reordered++;
            MarkStale(row);
            return ApplyOutcome.Reordered;
        }

        // Applied first, then kept, as on the hot path: keeping it may fold the lead (the reorder horizon), and until
        // the message is applied the lead's latest message is the one before it, which a fold must not take from the
        // list (whose head would already be this message: a tie in time would then no longer put it after the latest).
        if (_hot[row].Dirty)
        {
            // The lead awaits a replay, which will apply this message too: only its order key is noted.
            SetLastKey(row, m);
        }
        else
        {
            ApplyInOrder(row, m, bits);
        }

        Record(row, m, hash, bits);
        Statistics.Applied++;
        return ApplyOutcome.Applied;
    }

    /// <summary>Before a message at <paramref name="ticks"/> goes to the head of the row's list: notes when it is older than the head.</summary>
    private void NoteOrder(ref HotRow r, long ticks)
    {
        if (r.History >= 0 && _index[r.History].Ticks > ticks)
        {
            r.Unsorted = true;
        }
    }

    /// <summary>
    /// Keeps a counted message: in the history, and at the head of its lead's list in the index.
    /// <paramref name="afterEvery"/>: the caller knows the message is later than every message in the list (the
    /// in-order step on a row that awaits no replay: its list is then newest first or already marked unsorted), so the
    /// list's head is not read (on the hot path it is usually not in the cache).
    /// </summary>
    private void Record(int row, LeadMessage m, ulong hash, ulong bits, bool afterEvery = false)
    {
        long handle = _memoryHistory is { } memory ? memory.AddKnown(m) : _history.Add(m);
        ref HotRow r = ref _hot[row];
        if (!afterEvery)
        {
            NoteOrder(ref r, m.TimestampTicks);
        }

        r.History = _index.Add(row, r.History, m.TimestampTicks, hash, handle, bits);
        r.IdBloom |= BloomBits(hash);
        r.Kept++;
        MarkChanged(row);
        FoldOrQueue(row);
    }

    private void Release(int entry)
    {
        ref var e = ref _index[entry];
        _history.Release(e.Handle);
        e.Handle = ~e.Handle;
        _hot[e.Row].Kept--;
    }

    /// <summary>
    /// Reads back a kept message, checking that the history returned the message it was given (same order key and
    /// id hash): a history backed by a file or a database could otherwise hand back another message silently. The
    /// built-in <see cref="InMemoryMessageHistory"/> hands back the very object it was given, so only its order key is
    /// compared (hashing the id again cost a cache miss on the id's string per message replayed).
    /// </summary>
    private LeadMessage Read(int entry)
    {
        ref var e = ref _index[entry];
        var m = _history.Get(e.Handle);
        if (m.TimestampTicks != e.Ticks || (_memoryHistory is null && m.IdHash != e.IdHash))
        {
            throw new InvalidDataException($"The message history returned message '{m.MessageId}' at {m.Timestamp:O} for handle {e.Handle}, not the message the engine kept there: the history's storage changed.");
        }

        return m;
    }

    /// <summary><see cref="FindCopy"/>: no copy of the message was counted.</summary>
    private const int NoCopy = -1;

    /// <summary><see cref="FindCopy"/>: a copy was counted and folded (or replaced); its id is known only by its hash.</summary>
    private const int FoldedCopy = -2;

    /// <summary>
    /// The index entry of <paramref name="row"/>'s counted message with this id; else <see cref="FoldedCopy"/> when a
    /// released entry has the id's hash, else <see cref="NoCopy"/>. The lead's Bloom filter rules most ids out at once;
    /// the rest are looked up in the index's id-hash table.
    /// </summary>
    /// <param name="row">The lead.</param>
    /// <param name="hash">The id's hash.</param>
    /// <param name="messageId">The id.</param>
    /// <param name="except">An entry not to count as a copy (the message itself, during a merge), or -1.</param>
    private int FindCopy(int row, ulong hash, string messageId, int except = -1)
    {
        ulong bloom = BloomBits(hash);
        if ((_hot[row].IdBloom & bloom) != bloom)
        {
            return NoCopy;
        }

        int entry;
        bool folded = false;
        int probe = -1;
        while ((entry = _index.FindNext(row, hash, ref probe)) >= 0)
        {
            ref var e = ref _index[entry];
            if (entry == except)
            {
                continue;
            }

            if (!e.Live)
            {
                folded = true;
            }
            else if (string.Equals(Read(entry).MessageId, messageId, StringComparison.Ordinal))
            {
                return entry;
            }
        }

        return folded ? FoldedCopy : NoCopy;
    }

    /// <summary>The lead's state no longer reflects its history: replay it now, or when it is next read.</summary>
    private void MarkStale(int row)
    {
        ref HotRow r = ref _hot[row];
        bool wasStale = r.Dirty;
        r.Dirty = true;
        MarkChanged(row);
        if (Options.DeferReplays)
        {
            return;
        }

        if (_inBatch)
        {
            // Replayed when the batch ends, with the other leads the batch made stale (ReplayStale).
            if (!wasStale)
            {
                _staleInBatch.Add(row);
            }

            return;
        }

        Replay(row);
    }

    /// <summary>How many leads await a replay (tests).</summary>
    internal int StaleLeadCount
    {
        get
        {
            int stale = 0;
            for (int row = 0; row < _rowCount; row++)
            {
                stale += _hot[row].Dirty && !_rows[row].Removed ? 1 : 0;
            }

            return stale;
        }
    }

    /// <summary>Whether a batch apply is running: leads it makes stale are replayed when it ends, not at once.</summary>
    private bool _inBatch;

    /// <summary>The leads the running batch apply made stale, in order.</summary>
    private readonly List<int> _staleInBatch = [];

    /// <summary>How many leads' lists <see cref="ReplayStale"/> walks side by side.</summary>
    private const int WalkWidth = 16;

    /// <summary>
    /// Replays the leads the batch apply made stale (the same state as replaying each at once: a replay starts from the
    /// lead's whole history). A replay walks the lead's list of kept messages, one dependent cache miss per entry; here
    /// the lists of up to <see cref="WalkWidth"/> leads are first walked side by side, so their misses overlap, and
    /// each replay then finds its entries and messages in the cache.
    /// </summary>
    private void ReplayStale()
    {
        var rows = _staleInBatch;
        Span<int> cursors = stackalloc int[WalkWidth];
        for (int start = 0; start < rows.Count; start += WalkWidth)
        {
            int n = Math.Min(WalkWidth, rows.Count - start);
            for (int k = 0; k < n; k++)
            {
                int row = rows[start + k];
                cursors[k] = _hot[row].Dirty ? _hot[row].History : -1;
                HintRow(row); // the replay empties the row and fills it again: fetched while the lists are walked
            }

            WalkSideBySide(cursors[..n], olderThanHorizon: false);
            for (int k = 0; k < n; k++)
            {
                Replay(rows[start + k]);
            }
        }

        rows.Clear();
    }

    /// <summary>
    /// Walks the lists of up to <see cref="WalkWidth"/> leads side by side from <paramref name="cursors"/> (one lead's walk
    /// is a chain of cache misses, one per entry; side by side the chains overlap), and fetches the kept messages on the
    /// way: every one (a replay reads them all), or, <paramref name="olderThanHorizon"/>, those older than the horizon
    /// counted back from the list's head, its newest message when the list is in order (a fold reads those). Hints only:
    /// the caller then finds the entries and messages in the cache.
    /// </summary>
    private void WalkSideBySide(Span<int> cursors, bool olderThanHorizon)
    {
        Span<long> cuts = stackalloc long[WalkWidth];
        cuts.Fill(olderThanHorizon ? long.MinValue : long.MaxValue);
        for (bool walking = true; walking;)
        {
            walking = false;
            for (int k = 0; k < cursors.Length; k++)
            {
                if (cursors[k] < 0)
                {
                    continue;
                }

                ref var entry = ref _index[cursors[k]];
                if (cuts[k] == long.MinValue)
                {
                    cuts[k] = entry.Ticks - _horizon;
                }
                else if (entry.Ticks < cuts[k] && entry.Live && _memoryHistory is { } memory)
                {
                    var m = memory.Get(entry.Handle);
                    MemoryHint.Prefetch(m);
                    MemoryHint.Prefetch(m, MemoryHint.Line);
                }

                cursors[k] = entry.Prev;
                walking |= entry.Prev >= 0;
            }
        }
    }

    private void Invalidate(int row) => MarkStale(row);

    /// <summary>Whether <paramref name="row"/> already applied a message after <paramref name="m"/> (spec 2.3 order).</summary>
    private bool AppliedAfter(int row, LeadMessage m) => !_rows[row].Removed && !IsAfterLast(row, m.TimestampTicks, m.MessageId);

    private void MarkChanged(int row)
    {
        ref HotRow r = ref _hot[row];
        if (!r.Changed)
        {
            r.Changed = true;
            _changed.Add(row);
        }

        ClockChanged(row);
    }

    /// <summary>Two bits of a message id's hash, for a lead's <see cref="HotRow.IdBloom"/>.</summary>
    private static ulong BloomBits(ulong hash) => (1UL << (int)(hash & 63)) | (1UL << (int)((hash >> 6) & 63));

    /// <summary>Rebuilds a stale lead from its history: its live messages in spec 2.3 order, through the in-order step.</summary>
    private void Replay(int row)
    {
        ref HotRow r = ref _hot[row];
        if (!r.Dirty)
        {
            return;
        }

        Statistics.Replays++;
        CollectHistory(row, long.MaxValue);
        foreach (var item in _replay)
        {
            // What the in-order step reads of each message beyond the message itself, fetched for all of them at once
            // (on flat rows the properties are not read: the index kept the messages' field bits).
            MemoryHint.Prefetch(item.Message.UserId);
            if (_plan is null)
            {
                MemoryHint.Prefetch(item.Message.Properties);
            }
        }

        // The lead's trait row and bits before the replay: its identify, replayed, usually arrives at them again.
        var saved = NoteTraitsOf(row);
        try
        {
            ResetRow(row);
            if (_rows[row].Folded is { } folded)
            {
                RestoreBase(row, folded);
            }

            // The field bits noted when each message was kept: a replay does not read the messages' properties again.
            foreach (var item in _replay)
            {
                ApplyInOrder(row, item.Message, item.Bits);
            }
        }
        finally
        {
            _knownTraits = saved;
        }

        _replay.Clear();
        _hot[row].Dirty = false;
        UnpinLastId(row);
    }

    /// <summary>Fills <see cref="_replay"/> with the lead's live messages up to <paramref name="asOf"/>, in spec 2.3 order.</summary>
    private void CollectHistory(int row, long asOf)
    {
        var items = _replay;
        items.Clear();
        for (int e = _hot[row].History; e >= 0; e = _index[e].Prev)
        {
            ref var entry = ref _index[e];
            if (entry.Live && entry.Ticks <= asOf)
            {
                if (_memoryHistory is not null)
                {
                    // The in-memory history hands back the objects it was given: each message is only fetched while
                    // the list is walked (its fields span two cache lines), so the misses overlap; the check that it
                    // is the message kept there (Read) comes after the walk, against the order key noted.
                    var m = _history.Get(entry.Handle);
                    MemoryHint.Prefetch(m);
                    MemoryHint.Prefetch(m, MemoryHint.Line);
                    items.Add(new ReplayItem(m, entry.Ticks, entry.Bits));
                }
                else
                {
                    items.Add(new ReplayItem(Read(e), entry.Ticks, entry.Bits));
                }
            }
        }

        bool sorted = true;
        for (int i = 0; i < items.Count; i++)
        {
            var m = items[i].Message;
            if (m.TimestampTicks != items[i].Ticks)
            {
                throw new InvalidDataException($"The message history returned message '{m.MessageId}' at {m.Timestamp:O}, not the message the engine kept there: the history's storage changed.");
            }

            sorted &= i == 0 || items[i - 1].Ticks > items[i].Ticks;
        }

        // The list is newest first, so usually in strictly falling time: then reversed it is in spec 2.3 order (a sort
        // of a falling list is the insertion sort's worst case). Equal times, or a message kept out of its place (a late
        // one), sort.
        items.Reverse();
        if (!sorted)
        {
            items.Sort(ReplayItem.Order);
        }
    }

    /// <summary>The messages of <see cref="_replay"/>, which is emptied.</summary>
    private LeadMessage[] TakeReplayMessages()
    {
        var messages = new LeadMessage[_replay.Count];
        for (int i = 0; i < messages.Length; i++)
        {
            messages[i] = _replay[i].Message;
        }

        _replay.Clear();
        return messages;
    }

    /// <summary>A message to replay, with its order key and field bits from the index.</summary>
    private readonly record struct ReplayItem(LeadMessage Message, long Ticks, ulong Bits)
    {
        /// <summary>Spec 2.3 order of the messages.</summary>
        public static readonly Comparison<ReplayItem> Order = static (a, b) => LeadMessage.CompareTotal(a.Message, b.Message);
    }

    /// <summary>
    /// Spec 2.2: two leads turn out to be one. Their histories become one list (of two copies of a message the
    /// earliest counts), and the survivor is replayed from it.
    /// </summary>
    private int Merge(int a, int b)
    {
        Statistics.Merges++;
        bool foldedA = _rows[a].Folded is not null, foldedB = _rows[b].Folded is not null;
        var (survivor, absorbed) = foldedA != foldedB ? (foldedA ? (a, b) : (b, a)) : MessageCountOf(a) >= MessageCountOf(b) ? (a, b) : (b, a);
        if (_rows[absorbed].Folded is { } lost)
        {
            // Both leads reach past the horizon: the absorbed lead's folded messages cannot be put in their places.
            Statistics.BeyondHorizon += lost.Count;
        }

        PinLastId(survivor);
        int tail = -1;
        for (int e = _hot[absorbed].History; e >= 0; e = _index[e].Prev)
        {
            tail = e;
            ref var entry = ref _index[e];
            entry.Row = survivor;
            if (!entry.Live)
            {
                continue;
            }

            var m = Read(e);
            int copy = FindCopy(survivor, entry.IdHash, m.MessageId, except: e);
            if (copy < 0)
            {
                continue;
            }

            Statistics.Duplicates++;
            var other = Read(copy);
            int loser = LeadMessage.CompareTotal(other, m) <= 0 ? e : copy;
            _accounts.Remove(Read(loser));
            Release(loser);
        }

        // One list (both parts' entries are in the id-hash table already, now under the survivor).
        if (tail >= 0)
        {
            _hot[survivor].Unsorted |= _hot[survivor].History >= 0 || _hot[absorbed].Unsorted;
            _index[tail].Prev = _hot[survivor].History;
            _hot[survivor].History = _hot[absorbed].History;
            _hot[survivor].Kept += _hot[absorbed].Kept;
        }

        _hot[survivor].IdBloom |= _hot[absorbed].IdBloom;

        if (_rows[survivor].Folded is not null)
        {
            // The absorbed lead's messages whose places are in the survivor's folded history: applied to it as they come.
            for (int e = _hot[survivor].History; e >= 0; e = _index[e].Prev)
            {
                ref var entry = ref _index[e];
                if (entry.Live && Read(e) is var m && IsFolded(survivor, m))
                {
                    FoldLate(survivor, m);
                    Release(e);
                }
            }
        }

        MoveIds(absorbed, survivor);
        _accounts.Move(absorbed, survivor);
        if (PersistedIdOf(absorbed) is { } gone)
        {
            _removedIds.Add(gone);
        }

        RemoveRow(absorbed);
        MarkStale(survivor);
        return survivor;
    }

    // ------------------------------------------------------------------ evaluation

    /// <summary>Evaluates the lead known by <paramref name="leadId"/> (any of its linked ids) at <paramref name="asOf"/>.</summary>
    /// <returns>The result, or <see langword="null"/> when no message of that lead is at or before <paramref name="asOf"/>.</returns>
    public LeadResult? Evaluate(string leadId, DateTimeOffset asOf, bool explain = false)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        int row = _ids.Find(leadId);
        return row < 0 ? null : Evaluate(row, asOf.UtcTicks, explain);
    }

    /// <summary>Evaluates every lead at <paramref name="asOf"/>, ordered by lead id (ordinal).</summary>
    public IEnumerable<LeadResult> EvaluateAll(DateTimeOffset asOf, bool explain = false)
    {
        long ticks = asOf.UtcTicks;
        foreach (var (_, row) in OrderedRows())
        {
            // A lead whose every message is after the as-of time did not exist yet.
            if (Evaluate(row, ticks, explain) is { } result)
            {
                yield return result;
            }
        }
    }

    /// <summary>The reported ids of every lead, ordered (ordinal).</summary>
    public IReadOnlyList<string> LeadIds() => [.. OrderedRows().Select(x => x.Id)];

    /// <summary>Whether any of <paramref name="leadId"/>'s ids is known.</summary>
    public bool Contains(string leadId) => _ids.Find(leadId ?? throw new ArgumentNullException(nameof(leadId))) >= 0;

    /// <summary>
    /// The value of score <paramref name="scoreIndex"/> (an index into <see cref="CompiledModel.ScoreNames"/>) of the
    /// lead known by <paramref name="leadId"/> at <paramref name="asOf"/>, without building a <see cref="LeadResult"/>:
    /// allocates nothing when <paramref name="asOf"/> is at or after the lead's latest message.
    /// </summary>
    /// <returns>False when the lead is unknown or has no message up to <paramref name="asOf"/>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="scoreIndex"/> is not a score of the model.</exception>
    public bool TryGetScore(string leadId, int scoreIndex, DateTimeOffset asOf, out double value)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        ArgumentOutOfRangeException.ThrowIfNegative(scoreIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(scoreIndex, Model.ScoreNames.Length);
        value = 0;
        int row = _ids.Find(leadId);
        if (row < 0)
        {
            return false;
        }

        Replay(row);
        long ticks = asOf.UtcTicks;
        if (_plan?.TraitRules is { } traitRules && _hot[row].LastTicks <= ticks)
        {
            value = ScoreOfRow(row, traitRules, scoreIndex);
            return true;
        }

        if (StateAt(row, ticks) is not { } state)
        {
            return false;
        }

        value = _evaluator.ScoreAt(state, ticks, scoreIndex);
        return true;
    }

    /// <summary>
    /// The lead as of its latest message, as the engine holds it: scores, grade and persona at that instant and the
    /// stage history so far, without the extra stage re-evaluation an as-of time adds.
    /// </summary>
    public LeadResult? EvaluateLatest(string leadId, bool explain = false)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        int row = _ids.Find(leadId);
        if (row < 0)
        {
            return null;
        }

        Replay(row);
        var state = CurrentState(row);
        return _evaluator.Evaluate(state, ReportedId(row), state.LastTicks, explain, reevaluateStage: false);
    }

    /// <summary>
    /// The lead known by <paramref name="leadId"/> (any of its ids) as <see cref="EvaluateLatest"/> reports it, without a
    /// result object: its scores at its latest message written into <paramref name="scores"/> (in the order of
    /// <see cref="CompiledModel.ScoreNames"/>), its grade, its stage and the id of its latest message. For a host that
    /// reads every changed lead after each batch (Hosting's change tracking). It answers only where the scores come
    /// straight from the lead's compact row: a model whose rules all compile to bit tests and counters, with at most one
    /// stage (so no stage history, and no decay or expiry). Otherwise, and for an unknown lead, it returns false and the
    /// caller uses <see cref="EvaluateLatest"/>.
    /// </summary>
    /// <param name="leadId">Any id of the lead.</param>
    /// <param name="scores">Receives the scores; at least as long as the model has scores.</param>
    /// <param name="asOf">The instant of the lead's latest message.</param>
    /// <param name="grade">The grade, or null when the model has none.</param>
    /// <param name="stage">The stage, or null when the model has none.</param>
    /// <param name="latestMessageId">The id of the lead's latest message.</param>
    /// <returns>True when the outcome was read from the lead's row.</returns>
    /// <exception cref="ArgumentException"><paramref name="scores"/> is shorter than the model's scores.</exception>
    public bool TryGetLatestOutcome(
        string leadId, Span<double> scores, out DateTimeOffset asOf, out string? grade, out string? stage, out string? latestMessageId)
    {
        int row = LatestOutcome(leadId, scores, out asOf, out grade, out stage);
        latestMessageId = row >= 0 ? LastIdOf(row) : null;
        return row >= 0;
    }

    /// <summary>
    /// <see cref="TryGetLatestOutcome(string, Span{double}, out DateTimeOffset, out string?, out string?, out string?)"/>
    /// without the id of the lead's latest message, for a caller that knows it already (Hosting's change tracking, for a
    /// lead whose latest message is in the batch it has just applied): a row does not keep that id, and reading it back
    /// from the lead's message history is a few memory reads at random.
    /// </summary>
    /// <param name="leadId">Any id of the lead.</param>
    /// <param name="scores">Receives the scores; at least as long as the model has scores.</param>
    /// <param name="asOf">The instant of the lead's latest message.</param>
    /// <param name="grade">The grade, or null when the model has none.</param>
    /// <param name="stage">The stage, or null when the model has none.</param>
    /// <returns>True when the outcome was read from the lead's row.</returns>
    /// <exception cref="ArgumentException"><paramref name="scores"/> is shorter than the model's scores.</exception>
    public bool TryGetLatestOutcome(string leadId, Span<double> scores, out DateTimeOffset asOf, out string? grade, out string? stage) =>
        LatestOutcome(leadId, scores, out asOf, out grade, out stage) >= 0;

    /// <summary>The two <c>TryGetLatestOutcome</c>: the lead's row, or -1 when its outcome is not read from a row.</summary>
    private int LatestOutcome(string leadId, Span<double> scores, out DateTimeOffset asOf, out string? grade, out string? stage)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        (asOf, grade, stage) = (default, null, null);
        if (_plan?.TraitRules is not { } traitRules)
        {
            return -1;
        }

        if (scores.Length < Model.ScoreNames.Length)
        {
            throw new ArgumentException($"Room for {Model.ScoreNames.Length} scores is needed, not {scores.Length}.", nameof(scores));
        }

        int row = _ids.Find(leadId);
        if (row < 0)
        {
            return -1;
        }

        Replay(row);
        long last = _hot[row].LastTicks;
        if (last == long.MinValue)
        {
            return -1;   // no message yet: EvaluateLatest says what such a lead is
        }

        ScoresOfRow(row, traitRules);
        _values.AsSpan(0, Model.ScoreNames.Length).CopyTo(scores);
        grade = Model.GradeScore >= 0 ? Model.GradeOf(_values[Model.GradeScore]) : null;
        stage = Model.StageNames.Length > 0 ? Model.StageNames[0] : null;
        asOf = new DateTimeOffset(last, TimeSpan.Zero);
        return row;
    }

    /// <summary>
    /// The lead known by <paramref name="leadId"/> at each instant it has messages, from <paramref name="from"/> on,
    /// oldest first: one result per distinct message timestamp, after every message at that instant, as
    /// <see cref="EvaluateLatest"/> reports the lead when those are its latest messages (no explanation). One replay of
    /// the lead's kept messages, whatever the number of instants.
    /// </summary>
    /// <param name="leadId">Any id of the lead.</param>
    /// <param name="from">The first instant to report.</param>
    /// <param name="before">
    /// The lead at its latest instant before <paramref name="from"/>, or, when it has none among the kept messages,
    /// its base state (the messages folded by the reorder horizon); null when it has neither.
    /// </param>
    /// <returns>
    /// The results, empty when the lead is unknown. Instants folded into the base state (older than the reorder horizon,
    /// <see cref="LeadScoringEngineOptions.ReorderHorizon"/>) are not reported: only the base state's own, as <paramref name="before"/>.
    /// </returns>
    public IReadOnlyList<LeadResult> EvaluateMessageInstants(string leadId, DateTimeOffset from, out LeadResult? before)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        before = null;
        int row = _ids.Find(leadId);
        if (row < 0)
        {
            return [];
        }

        Replay(row);
        string id = ReportedId(row);
        CollectHistory(row, long.MaxValue);
        var messages = TakeReplayMessages();
        LeadState state;
        if (_rows[row].Folded is { } folded)
        {
            state = BaseState(folded);
            before = _evaluator.Evaluate(state, id, state.LastTicks, explain: false, reevaluateStage: false);
        }
        else
        {
            state = new LeadState(Model);
            state.Reset();
        }

        long start = from.UtcTicks;
        var results = new List<LeadResult>();
        for (int i = 0; i < messages.Length; i++)
        {
            _evaluator.Apply(state, messages[i]);
            long t = messages[i].TimestampTicks;
            long next = i + 1 < messages.Length ? messages[i + 1].TimestampTicks : long.MaxValue;
            if (next == t || (t < start && next < start))
            {
                // Not the instant's last message, or not the last instant before the first one reported.
                continue;
            }

            var result = _evaluator.Evaluate(state, id, t, explain: false, reevaluateStage: false);
            if (t < start)
            {
                before = result;
            }
            else
            {
                results.Add(result);
            }
        }

        return results;
    }

    private LeadResult? Evaluate(int row, long asOf, bool explain)
    {
        Replay(row);
        return StateAt(row, asOf) is { } state ? _evaluator.Evaluate(state, ReportedId(row), asOf, explain) : null;
    }

    /// <summary>
    /// The lead's state at <paramref name="asOf"/>: its current state when that is after its latest message, else its
    /// messages up to that instant replayed into a scratch state; null when it has none.
    /// </summary>
    private LeadState? StateAt(int row, long asOf)
    {
        var current = CurrentState(row);
        if (current.LastTicks <= asOf)
        {
            return current;
        }

        LeadState past;
        if (_rows[row].Folded is { } folded)
        {
            if (folded.Ticks > asOf)
            {
                throw new ArgumentOutOfRangeException(nameof(asOf), new DateTimeOffset(asOf, TimeSpan.Zero),
                    $"Lead '{ReportedId(row)}' keeps its messages only from {new DateTimeOffset(folded.Ticks, TimeSpan.Zero):O} (the reorder horizon); it cannot be scored as of an earlier time. Use an unbounded ReorderHorizon to score the past.");
            }

            CollectHistory(row, asOf);
            past = BaseState(folded);
        }
        else
        {
            CollectHistory(row, asOf);
            if (_replay.Count == 0)
            {
                return null;
            }

            past = _pastScratch ??= new LeadState(Model);
            past.Reset();
        }

        foreach (var item in _replay)
        {
            _evaluator.Apply(past, item.Message);
        }

        _replay.Clear();
        return past;
    }

    private LeadState? _pastScratch;

    // ------------------------------------------------------------------ stores

    /// <summary>Exports the lead known by <paramref name="leadId"/> (any of its ids) for a store; null when unknown.</summary>
    public LeadSnapshot? ExportLead(string leadId) => Export(leadId, withJournal: true);

    /// <summary><see cref="ExportLead"/>, with the lead's kept messages as its journal or with none.</summary>
    private LeadSnapshot? Export(string leadId, bool withJournal)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        int row = _ids.Find(leadId);
        if (row < 0)
        {
            return null;
        }

        Replay(row);
        ImmutableArray<LeadMessage> journal = [];
        if (withJournal)
        {
            CollectHistory(row, long.MaxValue);
            journal = ImmutableArray.Create(TakeReplayMessages());
        }

        return new LeadSnapshot(ReportedId(row), [.. IdsOf(row).Order(StringComparer.Ordinal)], LeadStateCodec.Encode(CurrentState(row), Model),
            _rows[row].Folded is { } folded ? BaseStateBytes(folded) : null, journal);
    }

    /// <summary>Exports every lead, ordered by lead id.</summary>
    public IEnumerable<LeadSnapshot> ExportLeads() =>
        LeadIds().Select(id => ExportLead(id)!);

    /// <summary>
    /// Restores a lead exported by <see cref="ExportLead"/> under the same model (same name, version and rules). The
    /// journal may also be every message the lead ever had (for example read back from a message log); of several
    /// copies of one message the one that counts is kept, and messages the base state already holds are skipped. A state
    /// written for another model throws <see cref="InvalidDataException"/>: re-score from the message log. A lead already
    /// holding one of the ids is replaced.
    /// </summary>
    public void ImportLead(LeadSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var state = LeadStateCodec.Decode(snapshot.State.Span, Model);
        var baseState = snapshot.BaseState is { IsEmpty: false } b ? LeadStateCodec.Decode(b.Span, Model) : null;
        foreach (var id in snapshot.Ids)
        {
            if (_ids.Find(id) is >= 0 and var old)
            {
                RemoveRow(old);
            }
        }

        int row = NewRow(snapshot.Ids.Length > 0 ? snapshot.Ids[0] : snapshot.LeadId);
        foreach (var id in snapshot.Ids)
        {
            Claim(row, id);
        }

        Claim(row, snapshot.LeadId);
        if (baseState is not null)
        {
            SetBase(row, baseState, snapshot.BaseState!.Value.ToArray(), baseState.MessageCount);
        }

        foreach (var m in snapshot.Journal)
        {
            // A store may hand over the lead's whole message log: what the base state holds is not applied again, but
            // its id is kept (by its hash, as folding keeps it), so that a retry of it still counts as a copy.
            ulong hash = m.IdHash;
            if (baseState is not null && !baseState.IsAfterLast(m.TimestampTicks, m.MessageId))
            {
                if (FindCopy(row, hash, m.MessageId) == NoCopy)
                {
                    _index.Add(row, -1, m.TimestampTicks, hash, ~0L);
                    _hot[row].IdBloom |= BloomBits(hash);
                }

                continue;
            }

            int copy = FindCopy(row, hash, m.MessageId);
            if (copy >= 0)
            {
                if (LeadMessage.CompareTotal(Read(copy), m) <= 0)
                {
                    continue;
                }

                _accounts.Remove(Read(copy));
                Release(copy);
            }

            long handle = _history.Add(m);
            NoteOrder(ref _hot[row], m.TimestampTicks);
            _hot[row].History = _index.Add(row, _hot[row].History, m.TimestampTicks, hash, handle, FieldBitsOf(m));
            _hot[row].IdBloom |= BloomBits(hash);
            _hot[row].Kept++;
            _accounts.Add(m, row);
        }

        SetState(row, state);
        PinLastIdIfUntold(row, state.LastMessageId);
        if (state.GroupId is not null)
        {
            _accounts.Join(state.GroupId, row);
        }

        SetPersistedId(row, snapshot.LeadId);
        ClockChanged(row);
    }

    /// <summary>
    /// The leads whose state changed since the last call (applied messages, replays, merges, imports), and the ids
    /// under which leads were exported before that no longer name a lead (merged away, or now reported under
    /// another id). A store saves the first and deletes the second; the call marks the changed leads as saved.
    /// </summary>
    public LeadChanges TakeChanges()
    {
        var changed = new List<string>(_changed.Count);
        var removed = new List<string>(_removedIds);
        foreach (int row in _changed)
        {
            _hot[row].Changed = false;
            if (_rows[row].Removed)
            {
                continue;
            }

            Replay(row);
            _hot[row].Changed = false;
            string id = ReportedId(row);
            if (PersistedIdOf(row) is { } old && old != id)
            {
                removed.Add(old);
            }

            SetPersistedId(row, id);
            changed.Add(id);
        }

        _changed.Clear();
        _removedIds.Clear();
        removed.RemoveAll(changed.Contains);
        changed.Sort(StringComparer.Ordinal);
        return new LeadChanges(changed, removed);
    }

    /// <summary>Removes a lead (for example to move it to another engine); returns false when unknown.</summary>
    public bool RemoveLead(string leadId)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        int row = _ids.Find(leadId);
        if (row < 0)
        {
            return false;
        }

        RemoveRow(row);
        return true;
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
            _accounts.Add(m, -1);
        }
    }

    /// <summary>How many live messages the lead holds in its history (tests).</summary>
    internal int HistoryLength(string leadId)
    {
        int row = _ids.Find(leadId);
        int n = 0;
        for (int e = row < 0 ? -1 : _hot[row].History; e >= 0; e = _index[e].Prev)
        {
            n += _index[e].Live ? 1 : 0;
        }

        return n;
    }
}

/// <summary>What <see cref="LeadScoringEngine.ApplyJson"/> did with one line of JSON.</summary>
public readonly struct JsonApplyResult
{
    internal JsonApplyResult(ApplyOutcome outcome, string? error, string? ignoredType)
    {
        Outcome = outcome;
        Error = error;
        IgnoredType = ignoredType;
    }

    /// <summary>What was done with the message; meaningful only when <see cref="IsApplied"/>.</summary>
    public ApplyOutcome Outcome { get; }

    /// <summary>Why the message was rejected (the same reasons as <see cref="MessageParser"/>), or null.</summary>
    public string? Error { get; }

    /// <summary>The type of a valid message the engine ignores (e.g. <c>screen</c>), or null.</summary>
    public string? IgnoredType { get; }

    /// <summary>Whether the message was rejected.</summary>
    public bool IsRejected => Error is not null;

    /// <summary>Whether the message is of an ignored type.</summary>
    public bool IsIgnored => IgnoredType is not null;

    /// <summary>Whether the message reached its lead (see <see cref="Outcome"/>).</summary>
    public bool IsApplied => Error is null && IgnoredType is null;
}
