using System.Collections.Immutable;
using System.Runtime.InteropServices;
using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Hosting;

/// <summary>
/// Change tracking: after a batch, the changed leads' states, their score-history entries and the notifications their
/// handlers must be told, against each lead's last committed outcome.
/// </summary>
internal sealed partial class ScoringPipeline
{
    /// <summary>
    /// A lead's outcome as last committed: what handler notifications and its next history entries are computed
    /// against; <paramref name="First"/>, the ticks of its first message (<see cref="long.MinValue"/>: before its reorder
    /// horizon, when loaded with a folded base state), says which of two merging leads came first.
    /// </summary>
    private sealed record Outcome(ScoreHistoryEntry Entry, HashSet<StageMove> Moves, long First);

    /// <summary>
    /// The instants of a batch's messages by id (<see cref="HistoryChanges"/>) and the spans that cut batches at the
    /// horizon (<see cref="SplitAtHorizon"/>): one map each, emptied and reused by every batch, so a batch does not grow
    /// new ones (the loop applies and collects one batch at a time).
    /// </summary>
    private readonly Dictionary<string, (long First, long Last)> _spans = new(StringComparer.Ordinal);

    /// <summary><see cref="HistoryChanges"/>' map: by id, the first instant of a batch's messages and its latest message (spec 2.3 order).</summary>
    private readonly Dictionary<string, (long First, LeadMessage Latest)> _instants = new(StringComparer.Ordinal);

    /// <summary>Room for a lead's scores when change tracking reads its latest message's id from its engine (one lead at a time).</summary>
    private readonly double[] _scores = new double[64];

    /// <summary><see cref="AddHistory"/>'s list of the leads a changed lead was reported as, reused lead after lead.</summary>
    private readonly List<(string Id, Outcome Outcome)> _earlier = [];

    /// <summary><see cref="KnownOutcomes"/>' list, reused lead after lead.</summary>
    private readonly List<(string Id, Outcome Outcome)> _known = [];

    /// <summary>A changed lead's reported id and every id linked to it (its state is exported at the next state checkpoint); a value, one per changed lead and batch.</summary>
    private readonly record struct LeadKey(string LeadId, ImmutableArray<string> Ids);

    /// <summary>
    /// Lists the changed leads (their states are saved at the next state checkpoint, see <c>ScoringPipeline.Checkpoints.cs</c>),
    /// works out their score history and what their handlers must be told.
    /// <paramref name="counted"/>: the batch's counted messages (null for a re-scoring).
    /// </summary>
    private (List<string> Changed, List<string> Removed, HistoryChanges History, List<LeadNotification> Notifications) CollectChanges(
        bool rescore, IReadOnlyList<LeadMessage>? counted = null)
    {
        var snapshots = new List<string>();
        var removed = new List<string>();
        var history = new HistoryChanges(counted ?? [], _instants);
        var notifications = new List<LeadNotification>();
        var taken = new LeadChanges[_partitions.Length];
        for (int i = 0; i < _partitions.Length; i++)
        {
            lock (_partitions[i].Gate)
            {
                taken[i] = _partitions[i].Engine.TakeChanges();
            }
        }

        // A lead moved between partitions is removed from one and changed in the other: it stays.
        HashSet<string>? stays = taken.Any(c => c.Removed.Count > 0) ? taken.SelectMany(c => c.Changed).ToHashSet(StringComparer.Ordinal) : null;

        // The changed leads' ids and latest results: each partition's on its own thread (the costly part, engine reads
        // only); what follows compares them with the shared outcomes one partition after the other, in a fixed order.
        Parallel.For(0, _partitions.Length, i =>
        {
            var p = _partitions[i];
            var changed = taken[i].Changed;
            if (p.Evaluated.Length < changed.Count)
            {
                p.Evaluated = new (LeadKey, Latest)[Math.Max(changed.Count, p.Evaluated.Length * 2)];
            }

            var leads = p.Evaluated;
            lock (p.Gate)
            {
                var model = p.Engine.Model;
                Span<double> values = stackalloc double[Math.Min(model.ScoreNames.Length, 64)];
                for (int k = 0; k < changed.Count; k++)
                {
                    p.Engine.TryGetLeadIds(changed[k], out string reported, out var leadIds);
                    leads[k] = (new LeadKey(reported, leadIds), LatestOf(p.Engine, changed[k], rescore, values));
                }
            }
        });

        for (int i = 0; i < _partitions.Length; i++)
        {
            var p = _partitions[i];
            lock (p.Gate)
            {
                var changes = taken[i];
                removed.AddRange(changes.Removed);
                for (int k = 0; k < changes.Changed.Count; k++)
                {
                    string id = changes.Changed[k];
                    var (snapshot, latest) = p.Evaluated[k];
                    snapshots.Add(snapshot.LeadId);
                    var ids = IdsOf(snapshot);
                    // Each of the lead's ids is looked up once; what follows reads these.
                    var known = KnownOutcomes(ids);
                    var previous = OutcomeOf(id, ids, known) ?? FirstKnown(snapshot.Ids, known);
                    var instants = history.InstantsOf(ids);
                    var entry = latest.Entry ?? EntryOf(p.Engine, id, snapshot.LeadId, latest, rescore, rescore ? null : LatestIdFromBatch(latest, ids, instants, known, previous, history));
                    long first = instants.First;
                    foreach (var (_, outcome) in known)
                    {
                        first = Math.Min(first, outcome.First);
                    }

                    bool changed = previous is null || !SameOutcome(previous.Entry, entry);
                    if (!rescore)
                    {
                        AddHistory(p, snapshot, ids, instants, known, entry.At.UtcTicks, entry, history);
                    }
                    else if (changed)
                    {
                        history.Entries.Add(entry);
                    }

                    if (changed)
                    {
                        // Only what some handler listens to goes to the outbox.
                        if (_scoreHandlers.Count > 0)
                        {
                            var args = new ScoreChangedArguments(id, previous?.Entry, entry, entry.MessageId);
                            notifications.Add(Outgoing(args));
                        }
                    }

                    foreach (var move in latest.StageHistory)
                    {
                        if (previous is null || !previous.Moves.Contains(move))
                        {
                            _metrics.StageTransitions.Add(1);
                            if (_stageHandlers.Count > 0)
                            {
                                var args = new StageChangedArguments(id, move.From, move.To, move.At, entry.ModelVersion, entry.MessageId);
                                notifications.Add(Outgoing(args));
                            }
                        }
                    }

                    // The lead's other ids lose their outcomes (its own is replaced below).
                    foreach (var (other, _) in known)
                    {
                        if (other != id && snapshot.Ids.Contains(other))
                        {
                            _outcomes.Remove(other);
                            _outcomeChanges.Add(other);
                        }
                    }

                    // Every move told stays known (a move the stage clock told after the latest message, too): a later
                    // history that has it again does not tell it again. The set of moves is shared while it is unchanged.
                    _outcomes[id] = new Outcome(entry, KnownMoves(previous, latest.StageHistory), first);
                    _outcomeChanges.Add(id);
                    // A re-scoring's entry is at the latest message: a later one (a stage-clock tick's) stays the latest.
                    KeepLaterOutcome(id, rescore && previous is not null && previous.Entry.At > entry.At ? previous.Entry : null);
                }

                // The array is the partition's, reused by the next batch: it does not keep this batch's entries alive.
                Array.Clear(p.Evaluated, 0, changes.Changed.Count);
            }
        }

        foreach (var gone in removed.Where(r => stays is null || !stays.Contains(r)))
        {
            _outcomes.Remove(gone);
            _outcomeChanges.Add(gone);
        }

        return (snapshots, removed, history, notifications);
    }

    /// <summary>
    /// A changed lead at its latest message, as change tracking needs it: its history entry (its instant, and its latest
    /// message's id except for a re-scoring) and its stage history. Read from the engine's row, the entry is made later
    /// (<see cref="EntryOf"/>), once the latest message's id is known: <paramref name="Entry"/> is then null and the
    /// outcome is in <paramref name="Scores"/>, <paramref name="AsOf"/>, <paramref name="Grade"/> and <paramref name="Stage"/>.
    /// </summary>
    private readonly record struct Latest(
        ScoreHistoryEntry? Entry, ImmutableArray<StageMove> StageHistory,
        KeyValuePair<string, double>[]? Scores = null, DateTimeOffset AsOf = default, string? Grade = null, string? Stage = null);

    /// <summary>
    /// <paramref name="lead"/> at its latest message: read straight from the engine's row where the model allows
    /// (<see cref="LeadScoringEngine.TryGetLatestOutcome(string, Span{double}, out DateTimeOffset, out string?, out string?)"/>:
    /// no full state loaded, no result object, and not the latest message's id, which the batch usually tells), else
    /// evaluated. <paramref name="values"/>: room for the scores, reused lead after lead.
    /// </summary>
    private static Latest LatestOf(LeadScoringEngine engine, string lead, bool rescore, Span<double> values)
    {
        var names = engine.Model.ScoreNames;
        if (names.Length <= values.Length
            && engine.TryGetLatestOutcome(lead, values, out var asOf, out string? grade, out string? stage))
        {
            var scores = new KeyValuePair<string, double>[names.Length];
            for (int i = 0; i < scores.Length; i++)
            {
                scores[i] = new KeyValuePair<string, double>(names[i], values[i]);
            }

            return new Latest(null, [], scores, asOf, grade, stage);
        }

        var result = engine.EvaluateLatest(lead)!;
        return new Latest(Entry(result, rescore ? null : result.LatestMessageId), result.StageHistory);
    }

    /// <summary>
    /// The id of a changed lead's latest message when the batch tells it, else null. Every message of the lead before
    /// the batch is at or before the instant of one of its ids' committed outcomes (an outcome is at the lead's latest
    /// message, or at a later stage-clock tick), so when all of those are earlier than the lead's latest instant, its
    /// messages at that instant are all in the batch, and the latest is the one with the greatest id (spec 2.3).
    /// </summary>
    private static string? LatestIdFromBatch(
        Latest latest, ImmutableArray<string> ids, (long First, long Last) instants, List<(string Id, Outcome Outcome)> known, Outcome? previous, HistoryChanges history)
    {
        long at = latest.AsOf.UtcTicks;
        if (instants.Last != at || (previous is not null && previous.Entry.At.UtcTicks >= at))
        {
            return null;
        }

        foreach (var (_, outcome) in known)
        {
            if (outcome.Entry.At.UtcTicks >= at)
            {
                return null;
            }
        }

        return history.LatestIdAt(ids, at);
    }

    /// <summary>
    /// The history entry of a changed lead read from its engine's row (<see cref="LatestOf"/>), with its latest message's
    /// id: <paramref name="messageId"/> when the batch told it, else read from the engine; none for a re-scoring.
    /// </summary>
    private ScoreHistoryEntry EntryOf(LeadScoringEngine engine, string lead, string reported, Latest latest, bool rescore, string? messageId)
    {
        if (messageId is null && !rescore)
        {
            engine.TryGetLatestOutcome(lead, _scores, out _, out _, out _, out messageId);
        }

        return new ScoreHistoryEntry(reported, latest.AsOf, latest.Scores!, latest.Grade, latest.Stage, engine.Model.Model.Version, messageId);
    }

    /// <summary>The stage moves known of a lead: those told before and those of its latest result (the earlier set when nothing is new).</summary>
    private static HashSet<StageMove> KnownMoves(Outcome? previous, ImmutableArray<StageMove> stageHistory)
    {
        if (previous is not null)
        {
            bool same = true;
            foreach (var move in stageHistory)
            {
                same &= previous.Moves.Contains(move);
            }

            if (same)
            {
                return previous.Moves;
            }
        }

        return [.. stageHistory, .. previous?.Moves ?? []];
    }

    /// <summary>Every id of a lead, its reported id included.</summary>
    private static ImmutableArray<string> IdsOf(LeadKey snapshot)
    {
        // A loop, not Enumerable.Contains: that one would box the array, once per changed lead and batch.
        foreach (string id in snapshot.Ids)
        {
            if (string.Equals(id, snapshot.LeadId, StringComparison.Ordinal))
            {
                return snapshot.Ids;
            }
        }

        return snapshot.Ids.Add(snapshot.LeadId);
    }

    /// <summary>
    /// The outcomes as last committed of those of <paramref name="ids"/> that have one, in the order of
    /// <paramref name="ids"/>: one lookup per id. One list, reused lead after lead (changes are collected one lead at a time).
    /// </summary>
    private List<(string Id, Outcome Outcome)> KnownOutcomes(ImmutableArray<string> ids)
    {
        var known = _known;
        known.Clear();
        foreach (var id in ids)
        {
            if (_outcomes.TryGetValue(id, out var outcome))
            {
                known.Add((id, outcome));
            }
        }

        return known;
    }

    /// <summary>The outcome of <paramref name="id"/>: from <paramref name="known"/> when it is one of <paramref name="ids"/>.</summary>
    private Outcome? OutcomeOf(string id, ImmutableArray<string> ids, List<(string Id, Outcome Outcome)> known) =>
        Find(known, id) ?? (!ids.Contains(id) && _outcomes.TryGetValue(id, out var other) ? other : null);

    /// <summary>The outcome of the first of <paramref name="ids"/> that has one in <paramref name="known"/>, or null.</summary>
    private static Outcome? FirstKnown(ImmutableArray<string> ids, List<(string Id, Outcome Outcome)> known)
    {
        foreach (var id in ids)
        {
            if (Find(known, id) is { } outcome)
            {
                return outcome;
            }
        }

        return null;
    }

    /// <summary>The outcome of <paramref name="id"/> in <paramref name="known"/>, or null.</summary>
    private static Outcome? Find(List<(string Id, Outcome Outcome)> known, string id)
    {
        foreach (var (each, outcome) in known)
        {
            if (each == id)
            {
                return outcome;
            }
        }

        return null;
    }

    /// <summary>What a batch writes to the score history, and the instants of its messages by lead id.</summary>
    private sealed class HistoryChanges
    {
        private readonly Dictionary<string, (long First, LeadMessage Latest)> _instants;

        /// <param name="counted">The batch's counted messages.</param>
        /// <param name="instants">The pipeline's map of instants by id, reused from batch to batch (emptied here).</param>
        public HistoryChanges(IReadOnlyList<LeadMessage> counted, Dictionary<string, (long First, LeadMessage Latest)> instants)
        {
            _instants = instants;
            _instants.Clear();
            foreach (var m in counted)
            {
                if (m.Type == MessageType.Group)
                {
                    // An account change reaches every member from its instant on (spec 3.5).
                    FirstGroup = Math.Min(FirstGroup, m.TimestampTicks);
                }

                long t = m.TimestampTicks;
                foreach (var id in (ReadOnlySpan<string?>)[m.UserId, m.AnonymousId, m.PreviousId])
                {
                    if (id is null)
                    {
                        continue;
                    }

                    ref var span = ref CollectionsMarshal.GetValueRefOrAddDefault(_instants, id, out bool exists);
                    if (!exists)
                    {
                        span = (t, m);
                        continue;
                    }

                    span.First = Math.Min(span.First, t);
                    if (LeadMessage.CompareOrder(m, span.Latest) > 0)
                    {
                        span.Latest = m;
                    }
                }
            }
        }

        /// <summary>Widens the span of instants (ticks) of each id of <paramref name="m"/> to its timestamp.</summary>
        public static void Widen(Dictionary<string, (long First, long Last)> spans, LeadMessage m)
        {
            long t = m.TimestampTicks;
            foreach (var id in (ReadOnlySpan<string?>)[m.UserId, m.AnonymousId, m.PreviousId])
            {
                if (id is not null)
                {
                    spans[id] = spans.TryGetValue(id, out var span) ? (Math.Min(span.First, t), Math.Max(span.Last, t)) : (t, t);
                }
            }
        }

        public List<ScoreHistoryEntry> Entries { get; } = [];

        public Dictionary<string, string> Renamed { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, DateTimeOffset> ReplacedFrom { get; } = new(StringComparer.Ordinal);

        /// <summary>The earliest counted group message of the batch (ticks), or <see cref="long.MaxValue"/>.</summary>
        public long FirstGroup { get; private set; } = long.MaxValue;

        /// <summary>The first and last instants (ticks) of the batch's messages for any of <paramref name="ids"/>.</summary>
        public (long First, long Last) InstantsOf(ImmutableArray<string> ids)
        {
            (long First, long Last) all = (long.MaxValue, long.MinValue);
            foreach (var id in ids)
            {
                if (_instants.TryGetValue(id, out var span))
                {
                    all = (Math.Min(all.First, span.First), Math.Max(all.Last, span.Latest.TimestampTicks));
                }
            }

            return all;
        }

        /// <summary>The id of the latest (spec 2.3) of the batch's messages for any of <paramref name="ids"/>, when it is at <paramref name="ticks"/>; else null.</summary>
        public string? LatestIdAt(ImmutableArray<string> ids, long ticks)
        {
            LeadMessage? latest = null;
            foreach (var id in ids)
            {
                if (_instants.TryGetValue(id, out var span) && (latest is null || LeadMessage.CompareOrder(span.Latest, latest) > 0))
                {
                    latest = span.Latest;
                }
            }

            return latest?.TimestampTicks == ticks ? latest.MessageId : null;
        }
    }

    /// <summary>
    /// Issue 14, row 16: the score history is one entry per lead and per change of outcome at its message instants, so
    /// the same messages give the same entries however they were batched. A lead's entries from the earliest instant the
    /// batch can have changed are worked out again: its first new message, the batch's first account change, or, when
    /// leads merge, the first message of the second of them to start. Messages in order append (one evaluation when the
    /// lead has one new instant, else one replay of the lead); a late message or a merge rewrites the entries from that
    /// instant on. A lead now reported under another id takes the old id's entries; of merging leads, the first to
    /// start keeps its entries (before the second one started) and the others lose theirs.
    /// </summary>
    /// <param name="p">The lead's partition.</param>
    /// <param name="snapshot">The lead's reported id and ids.</param>
    /// <param name="ids">Every id of the lead.</param>
    /// <param name="instants">The first and last instants (ticks) of the batch's messages for any of the lead's ids.</param>
    /// <param name="known">The outcomes as last committed of the lead's ids that have one (<see cref="KnownOutcomes"/>).</param>
    /// <param name="latestAt">The ticks of the lead's latest message.</param>
    /// <param name="latestEntry">The history entry of the lead at its latest message (made by the caller already).</param>
    /// <param name="history">The batch's history changes.</param>
    private void AddHistory(
        Partition p, LeadKey snapshot, ImmutableArray<string> ids, (long First, long Last) instants, List<(string Id, Outcome Outcome)> known, long latestAt, ScoreHistoryEntry latestEntry, HistoryChanges history)
    {
        var engine = p.Engine;
        string lead = snapshot.LeadId;
        // The leads this one was reported as after the last batch, the first to start first: itself, another id
        // (renamed), several (merged). Before the second one starts, the merged lead is the first one. One list, reused
        // by every lead (changes are collected one lead at a time).
        var earlier = _earlier;
        earlier.Clear();
        earlier.AddRange(known);
        if (earlier.Count > 1)
        {
            earlier.Sort(static (a, b) => a.Outcome.First != b.Outcome.First ? a.Outcome.First.CompareTo(b.Outcome.First) : string.CompareOrdinal(a.Id, b.Id));
        }

        var (first, last) = instants;
        long from = Math.Min(first, history.FirstGroup);
        if (earlier.Count > 1)
        {
            from = Math.Min(from, earlier[1].Outcome.First);
        }

        if (earlier.Count > 0 && earlier[0].Id != lead)
        {
            history.Renamed[earlier[0].Id] = lead;
        }

        for (int i = 1; i < earlier.Count; i++)
        {
            if (earlier[i].Id != lead)
            {
                history.ReplacedFrom[earlier[i].Id] = DateTimeOffset.MinValue;
            }
        }

        long previousAt = earlier.Count == 1 ? earlier[0].Outcome.Entry.At.UtcTicks : long.MaxValue;
        bool append = from > previousAt;   // nothing at or before the lead's latest committed instant changed

        if (append && from > latestAt)
        {
            return;   // none of its instants changed (moved between partitions, an account change after its latest message)
        }

        from = from == long.MaxValue ? 0 : Math.Max(from, 0);   // nothing known of what changed: every kept instant
        ScoreHistoryEntry? before;
        IReadOnlyList<LeadResult> steps;

        if (append && first == last && last == latestAt)
        {
            // The common case: the lead's one new instant is its latest, whose entry the caller made.
            before = earlier[0].Outcome.Entry;
            if (!SameOutcome(before, latestEntry))
            {
                history.Entries.Add(latestEntry);
            }

            return;
        }

        if (earlier.Count == 0 && first == last && last == latestAt)
        {
            // A new lead, all of whose messages are at one instant. (Every lead the engines know has an outcome under one
            // of its ids: each is given one when the pipeline loads, and each changed lead after every batch. So a lead
            // none of whose ids has one is new in this batch, and its messages are the batch's.) Its history is the entry
            // at that instant, which the caller made: the replay below would give that entry and nothing before it.
            history.Entries.Add(latestEntry);
            return;
        }

        if (append && TryInstantsFromBefore(p, lead, ids, from, out var appended))
        {
            // Several new instants, in order: from the lead's state before the batch (no older message read back).
            before = earlier[0].Outcome.Entry;
            steps = appended;
        }
        else
        {
            steps = engine.EvaluateMessageInstants(lead, new DateTimeOffset(from, TimeSpan.Zero), out var previous);
            before = previous is null ? null : Entry(previous, previous.LatestMessageId);
            // Entries up to the instant compared with (the latest before, or the base state's) stay. A lead new in the
            // batch (none of its ids has an outcome) has no entry in the store, since entries are committed only for leads
            // given an outcome: the store is asked to delete none (on the canonical workload, 100,000 deletions per run
            // that found nothing).
            if (!append && earlier.Count > 0)
            {
                long cut = previous is null ? from : Math.Max(from, previous.AsOf.UtcTicks + 1);
                history.ReplacedFrom[lead] = new DateTimeOffset(cut, TimeSpan.Zero);
            }
        }

        foreach (var step in steps)
        {
            var entry = Entry(step, step.LatestMessageId);
            if (before is null || !SameOutcome(before, entry))
            {
                history.Entries.Add(entry);
                before = entry;
            }
        }
    }

    private static ScoreHistoryEntry Entry(LeadResult r, string? messageId)
    {
        var scores = new KeyValuePair<string, double>[r.ScoreNames.Length];
        for (int i = 0; i < scores.Length; i++)
        {
            scores[i] = new KeyValuePair<string, double>(r.ScoreNames[i], r.ValueAt(i));
        }

        return new(r.LeadId, r.AsOf, scores, r.Grade, r.Stage, r.ModelVersion, messageId);
    }

    private static bool SameOutcome(ScoreHistoryEntry a, ScoreHistoryEntry b)
    {
        if (a.Grade != b.Grade || a.Stage != b.Stage || a.Scores.Count != b.Scores.Count)
        {
            return false;
        }

        for (int i = 0; i < a.Scores.Count; i++)
        {
            if (a.Scores[i].Key != b.Scores[i].Key || !a.Scores[i].Value.Equals(b.Scores[i].Value))
            {
                return false;
            }
        }

        return true;
    }
}
