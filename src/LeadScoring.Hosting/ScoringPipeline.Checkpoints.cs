using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Hosting;

/// <summary>
/// Lead-state checkpoints: a batch commits its message log rows, history, outbox, dead letters and source checkpoints,
/// but lead states only every <see cref="LeadScoringOptions.StateCheckpointMessages"/> messages or
/// <see cref="LeadScoringOptions.StateCheckpointInterval"/> (and on drain, and with a re-scoring): then every lead changed
/// since the last checkpoint is exported once, in the same transaction as its batch, and the store records the message
/// log position the states are as of. On start (<see cref="LoadAsync"/>) the states are loaded and the log after that
/// position is replayed through the engines, batch by batch as it was applied; its history and notifications were
/// committed with their batches and are not made again.
/// </summary>
internal sealed partial class ScoringPipeline
{
    /// <summary>Leads changed since the last state checkpoint (by reported id), and ids whose stored state must go.</summary>
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly HashSet<string> _removedStates = new(StringComparer.Ordinal);
    private long _messagesSinceCheckpoint;
    private long _lastCheckpoint;

    /// <summary>Notes a batch's changed and removed leads. The caller holds <see cref="_structure"/>.</summary>
    private void Track(List<string> changed, List<string> removed, int counted)
    {
        if (_messagesSinceCheckpoint == 0 && _dirty.Count == 0)
        {
            _lastCheckpoint = _time.GetTimestamp();   // the interval runs from the first change after a checkpoint
        }

        _dirty.UnionWith(changed);
        _removedStates.UnionWith(removed);
        _messagesSinceCheckpoint += counted;
    }

    private bool CheckpointDue() =>
        _messagesSinceCheckpoint >= _options.StateCheckpointMessages
        || (_dirty.Count > 0 && _time.GetElapsedTime(_lastCheckpoint) >= _options.StateCheckpointInterval);

    /// <summary>
    /// Exports every lead changed since the last checkpoint (once each, as it is now) and the ids to delete, and starts
    /// the next interval. The caller holds <see cref="_structure"/>.
    /// </summary>
    private (List<LeadSnapshot> States, List<string> Removed) TakeStateCheckpoint()
    {
        // Each partition exports its own leads, the partitions in parallel (a checkpoint of the canonical workload's
        // 100,000 leads took 0.9 s on the loop's thread alone, while the commits waited for it).
        var ids = new List<string>[_partitions.Length];
        for (int p = 0; p < ids.Length; p++)
        {
            ids[p] = [];
        }

        foreach (var id in _dirty)
        {
            if (_route.TryGetValue(id, out int p))
            {
                ids[p].Add(id);
            }
        }

        var exported = new Dictionary<string, LeadSnapshot>[_partitions.Length];
        Parallel.For(0, _partitions.Length, p =>
        {
            var partition = _partitions[p];
            var states = new Dictionary<string, LeadSnapshot>(ids[p].Count, StringComparer.Ordinal);
            lock (partition.Gate)
            {
                foreach (var id in ids[p])
                {
                    // An id merged into another lead since exports that lead (under its reported id): once. A lead's
                    // ids are all routed to its partition.
                    if (!states.ContainsKey(id) && partition.Engine.ExportLeadState(id) is { } state)
                    {
                        states[state.LeadId] = state;
                    }
                }
            }

            exported[p] = states;
        });

        var all = new List<LeadSnapshot>(exported.Sum(e => e.Count));
        foreach (var states in exported)
        {
            all.AddRange(states.Values);
        }

        var removed = _removedStates.Where(id => !exported.Any(states => states.ContainsKey(id))).ToList();
        _dirty.Clear();
        _removedStates.Clear();
        _messagesSinceCheckpoint = 0;
        _lastCheckpoint = _time.GetTimestamp();
        return (all, removed);
    }

    /// <summary>Every lead's state, for a checkpoint that replaces them all (a re-scoring). The caller holds <see cref="_structure"/>.</summary>
    private List<LeadSnapshot> TakeAllStates()
    {
        var states = new List<LeadSnapshot>();
        foreach (var p in _partitions)
        {
            lock (p.Gate)
            {
                foreach (var id in p.Engine.LeadIds())
                {
                    states.Add(p.Engine.ExportLeadState(id)!);
                }
            }
        }

        _dirty.Clear();
        _removedStates.Clear();
        _messagesSinceCheckpoint = 0;
        _lastCheckpoint = _time.GetTimestamp();
        return states;
    }

    /// <summary>On drain: the states changed since the last checkpoint, committed after the last batch.</summary>
    private async Task CommitStateCheckpointAsync()
    {
        LeadStoreBatch batch;
        OutcomeWrite outcomes;
        await _structure.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_dirty.Count == 0 && _removedStates.Count == 0 && _messagesSinceCheckpoint == 0 && _outcomeChanges.Count == 0)
            {
                return;
            }

            var (states, removed) = TakeStateCheckpoint();
            outcomes = TakeOutcomes();
            batch = new LeadStoreBatch
            {
                Leads = states, RemovedLeads = removed, StateCheckpoint = true, Outcomes = outcomes.Outcomes, RemovedOutcomes = outcomes.Removed,
            };
        }
        finally
        {
            _structure.Release();
        }

        await _store.CommitAsync(batch, CancellationToken.None).ConfigureAwait(false);
        OutcomesCommitted(outcomes);
    }

    /// <summary>
    /// Loads the stored states (each lead with its messages up to the state position, from the log, as its journal), the
    /// group messages up to that position, then replays the log after it batch by batch, as the batches were applied.
    /// Every lead's outcome is then known as last committed; the replayed leads are saved at the next checkpoint.
    /// </summary>
    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        long position = await _store.GetStatePositionAsync(cancellationToken).ConfigureAwait(false);
        var states = new List<LeadSnapshot>();
        await foreach (var state in _store.LoadLeadsAsync(cancellationToken).ConfigureAwait(false))
        {
            states.Add(state);
        }

        // Every logged batch is in memory while the pipeline loads: the replay history reads them from its cache.
        _messageLog?.Hold();
        var logged = new Dictionary<string, List<(LeadMessage Message, long Position, int Index)>>(StringComparer.Ordinal);
        var accounts = new List<LeadMessage>();
        var replay = new List<(long Position, IReadOnlyList<LeadMessage> Messages)>();
        await foreach (var (at, messages) in _store.ReadLogAsync(0, cancellationToken).ConfigureAwait(false))
        {
            _messageLog?.Logged(at, messages);
            if (at > position)
            {
                replay.Add((at, messages));
                continue;
            }

            for (int i = 0; i < messages.Count; i++)
            {
                var m = messages[i];
                if (m.Type == MessageType.Group)
                {
                    accounts.Add(m);
                }

                if (!logged.TryGetValue(m.LeadId, out var list))
                {
                    logged[m.LeadId] = list = [];
                }

                list.Add((m, at, i));
            }
        }

        foreach (var p in _partitions)
        {
            p.Engine.ImportAccountMessages(accounts);
        }

        // Each lead with every logged message of its ids up to the state position: the engine keeps what follows the
        // base state, and knows the ids of the messages folded into it (so that a retry of one is not counted again).
        var first = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var stored in states)
        {
            var journal = new List<LeadMessage>();
            int target = Home(stored.LeadId);
            var history = _partitions[target].History;
            foreach (var id in stored.Ids)
            {
                foreach (var (m, at, index) in logged.GetValueOrDefault(id) ?? [])
                {
                    journal.Add(m);
                    history?.Expect(m, at, index);   // the engine keeps the journal's messages by their place in the log
                }
            }

            var snapshot = LeadSnapshot.Create(stored.LeadId, stored.Ids, stored.State, stored.BaseState, journal);
            _partitions[target].Engine.ImportLead(snapshot);
            history?.ClearExpected();
            foreach (var id in snapshot.Ids)
            {
                _route[id] = target;
            }

            first[snapshot.LeadId] = FirstOf(snapshot);
        }

        foreach (var p in _partitions)
        {
            p.Engine.TakeChanges();
        }

        await ReplayAsync(replay, cancellationToken).ConfigureAwait(false);

        // Every lead's outcome as last committed (a replayed lead's from its kept messages). The replayed leads, and the
        // ids the replay merged away, are the outcome overlay: the outcome tables hold them as of the state checkpoint.
        _outcomeChanges.UnionWith(_removedStates);
        foreach (var p in _partitions)
        {
            foreach (var id in p.Engine.LeadIds())
            {
                if (p.Engine.EvaluateLatest(id) is not { } result)
                {
                    continue;
                }

                bool replayed = _dirty.Contains(result.LeadId);
                long since = replayed || !first.TryGetValue(result.LeadId, out long known)
                    ? FirstOf(p.Engine.ExportLead(result.LeadId)!) : known;
                var moves = ToldByClock(p.Engine, result);
                _outcomes[result.LeadId] = new Outcome(replayed ? LatestEntry(p.Engine, result, moves) : Entry(result, null), [.. moves], since);
                if (replayed)
                {
                    _outcomeChanges.Add(result.LeadId);
                }
            }
        }

        _messageLog?.Trim();
    }

    /// <summary>
    /// A replayed lead's latest score history entry: that of its latest message, or, when the stage clock moved it
    /// after that message (up to the last tick committed), the entry the clock wrote for its last move.
    /// </summary>
    private static ScoreHistoryEntry LatestEntry(LeadScoringEngine engine, LeadResult latest, IReadOnlyList<StageMove> moves) =>
        moves.Count > 0 && moves[^1].At > latest.AsOf && engine.Evaluate(latest.LeadId, moves[^1].At) is { } moved
            ? Entry(moved, null)
            : Entry(latest, null);

    /// <summary>The ticks of a loaded lead's first message; <see cref="long.MinValue"/> when it has a base state (folded) or no journal.</summary>
    private static long FirstOf(LeadSnapshot snapshot) =>
        snapshot.BaseState is { IsEmpty: false } || snapshot.Journal.IsEmpty ? long.MinValue : snapshot.Journal.Min(m => m.TimestampTicks);

    /// <summary>Applies the logged batches after the state position as the batch loop did; the leads they change are dirty.</summary>
    private async Task ReplayAsync(List<(long Position, IReadOnlyList<LeadMessage> Messages)> batches, CancellationToken cancellationToken)
    {
        long count = 0;
        var indexes = new Dictionary<LeadMessage, int>(ReferenceEqualityComparer.Instance);
        foreach (var (position, batch) in batches)
        {
            foreach (var p in _partitions)
            {
                p.Batch.Clear();
                p.Applied.Clear();
            }

            indexes.Clear();
            for (int i = 0; i < batch.Count; i++)
            {
                indexes.TryAdd(batch[i], i);
                _partitions[Route(batch[i])].Batch.Add(batch[i]);
            }

            // The engines keep the replayed messages by their place in the log (a lead moved by a link may reorder a partition's list).
            await ApplyRoutedAsync(_messageLog is null ? null : p =>
            {
                p.History!.ClearExpected();
                foreach (var m in p.Batch)
                {
                    p.History.Expect(m, position, indexes[m]);
                }
            }, cancellationToken).ConfigureAwait(false);
            count += batch.Count;
        }

        foreach (var p in _partitions)
        {
            p.History?.ClearExpected();
            p.Batch.Clear();
            p.Applied.Clear();
            var changes = p.Engine.TakeChanges();
            _dirty.UnionWith(changes.Changed);
            _removedStates.UnionWith(changes.Removed);
        }

        _messagesSinceCheckpoint = count;
        _lastCheckpoint = _time.GetTimestamp();
        ReplayedOnStart = count;
    }

    /// <summary>Messages replayed from the log on start (after the last state checkpoint), for tests and diagnostics.</summary>
    internal long ReplayedOnStart;
}
