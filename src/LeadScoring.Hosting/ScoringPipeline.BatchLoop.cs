using LeadScoring.Engine;
using LeadScoring.Messages;
using Microsoft.Extensions.Logging;

namespace LeadScoring.Hosting;

/// <summary>
/// The batch loop: cuts the queue into batches, applies each on the partitions, and hands it to the commit chain
/// (the commit of a batch overlaps the apply of the next; commits and deliveries keep their order).
/// </summary>
internal sealed partial class ScoringPipeline
{
    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Item>(_options.BatchSize);
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                batch.Clear();
                long deadline = _time.GetTimestamp() + (long)(_options.BatchDelay.TotalSeconds * _time.TimestampFrequency);
                while (batch.Count < _options.BatchSize)
                {
                    if (reader.TryRead(out var item))
                    {
                        batch.Add(item);
                        continue;
                    }

                    var wait = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
                    if (wait <= TimeSpan.Zero || reader.Completion.IsCompleted)
                    {
                        break;
                    }

                    using var timeout = new CancellationTokenSource(wait);
                    try
                    {
                        if (!await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false))
                        {
                            break;
                        }
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }

                _status.Busy = true;
                _status.Queue(reader.Count);
                await _writer.WaitAsync().ConfigureAwait(false);
                try
                {
                    if (_committing.IsFaulted)
                    {
                        await _committing.ConfigureAwait(false);   // a commit failed: stop here
                    }

                    foreach (var part in SplitAtHorizon(batch))
                    {
                        // At most MaxCommitsInFlight commits wait: a store slower than the loop holds it back here,
                        // instead of batches (their messages, history entries and notifications) piling up in memory.
                        while (_inFlight.Count > 0 && (_inFlight.Peek().IsCompleted || _inFlight.Count >= MaxCommitsInFlight))
                        {
                            await _inFlight.Dequeue().ConfigureAwait(false);
                        }

                        await ProcessBatchAsync(part, CancellationToken.None).ConfigureAwait(false);
                    }

                    await ApplyPendingModelAsync().ConfigureAwait(false);
                    if (reader.Count == 0)
                    {
                        // Nothing more to apply while the last commit runs: wait for it, so that drained means committed.
                        await _committing.ConfigureAwait(false);
                    }
                }
                finally
                {
                    _writer.Release();
                }

                _status.Queue(reader.Count);
                _status.Busy = reader.Count > 0;
            }

            await _committing.ConfigureAwait(false);
            await CommitStateCheckpointAsync().ConfigureAwait(false);

            if (Interlocked.Exchange(ref _pendingModel, null) is { } last && last.Model.Version != _model!.Model.Version)
            {
                await RescoreAsync(last, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            _logger.LogCritical(ex, "The scoring pipeline stopped: a batch could not be committed. Nothing after the last committed checkpoint is lost; restart to resume.");
            throw;
        }
    }

    /// <summary>
    /// Issue 14, row 16: cuts a batch where the messages of one id would span more than the reorder horizon (a
    /// catch-up of an old backlog), so that the engine never folds a message of the batch into a lead's base state
    /// before the lead's history entries for it are written.
    /// </summary>
    private IEnumerable<List<Item>> SplitAtHorizon(List<Item> batch)
    {
        if (_options.ReorderHorizon is not { } horizon)
        {
            yield return batch;
            yield break;
        }

        var spans = _spans;
        spans.Clear();
        int start = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            if (batch[i].Message is not { } m)
            {
                continue;
            }

            long t = m.TimestampTicks;
            bool fits = true;
            foreach (var id in (ReadOnlySpan<string?>)[m.UserId, m.AnonymousId, m.PreviousId])
            {
                fits &= id is null || !spans.TryGetValue(id, out var span) || Math.Max(span.Last, t) - Math.Min(span.First, t) <= horizon.Ticks;
            }

            if (!fits)
            {
                yield return batch.GetRange(start, i - start);
                start = i;
                spans.Clear();
            }

            HistoryChanges.Widen(spans, m);
        }

        yield return start == 0 ? batch : batch.GetRange(start, batch.Count - start);
    }

    private async Task ProcessBatchAsync(List<Item> items, CancellationToken cancellationToken)
    {
        if (items.Count == 0)
        {
            return;
        }

        long started = _time.GetTimestamp();
        var deadLetters = new List<DeadLetter>();
        var checkpoints = new Dictionary<string, string>(StringComparer.Ordinal);
        var now = _time.GetUtcNow();
        await _structure.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var p in _partitions)
            {
                p.Batch.Clear();
                p.Applied.Clear();
            }

            // Route in arrival order; a message linking leads of two partitions moves them together first.
            foreach (var item in items)
            {
                if (item.Message is null)
                {
                    var r = item.Record;
                    deadLetters.Add(new DeadLetter(item.Source, r.HasCheckpoint ? r.Location : "", r.Result.Error ?? "unusable message", r.Result.IsRejected ? r.Raw : null, now));
                    continue;
                }

                _partitions[Route(item.Message)].Batch.Add(item.Message);
            }

            // Each source's checkpoint after its last record of the batch (only those are written out). The map is
            // looked at only where the source changes from one record to the one before it, not once per record.
            string? seen = null;
            for (int i = items.Count - 1; i >= 0; i--)
            {
                var item = items[i];
                if (item.Record.HasCheckpoint && !ReferenceEquals(item.Source, seen))
                {
                    seen = item.Source;
                    if (!checkpoints.ContainsKey(item.Source))
                    {
                        checkpoints.Add(item.Source, item.Record.Checkpoint);
                    }
                }
            }

            var logBatch = _messageLog?.Open();
            await ApplyRoutedAsync(logBatch is null ? null : p =>
            {
                p.History!.Begin(logBatch, p.Batch);
                CaptureBefore(p);
            }, cancellationToken).ConfigureAwait(false);

            var counted = new List<LeadMessage>();
            var skipped = new List<int>();
            if (logBatch is not null)
            {
                // Until it is committed, the batch's messages are read from this list (filled in log order below).
                _messageLog!.Applied(logBatch, counted);
            }

            foreach (var p in _partitions)
            {
                int offset = counted.Count;
                skipped.Clear();
                for (int i = 0; i < p.Applied.Count; i++)
                {
                    var (m, outcome) = p.Applied[i];
                    if (outcome == ApplyOutcome.Duplicate)
                    {
                        _metrics.Duplicates.Add(1);
                        skipped.Add(i);
                        continue;
                    }

                    counted.Add(m);
                    _metrics.Applied.Add(1);
                    if (outcome is ApplyOutcome.Reordered or ApplyOutcome.BeyondHorizon)
                    {
                        _metrics.Late.Add(1);
                    }
                }

                if (logBatch is not null)
                {
                    lock (p.Gate)
                    {
                        p.History!.Complete(offset, skipped.Count == 0 ? [] : [.. skipped]);
                    }
                }
            }

            var (changed, removed, history, notifications) = CollectChanges(rescore: false, counted);
            Track(changed, removed, counted.Count);
            var (states, removedStates) = CheckpointDue() ? TakeStateCheckpoint() : (null, null);
            var outcomes = states is not null ? TakeOutcomes() : null;
            var store = new LeadStoreBatch
            {
                Leads = states ?? [],
                RemovedLeads = removedStates ?? [],
                StateCheckpoint = states is not null,
                Messages = counted,
                History = history.Entries,
                HistoryRenamed = history.Renamed,
                HistoryReplacedFrom = history.ReplacedFrom,
                Outcomes = outcomes?.Outcomes ?? [],
                RemovedOutcomes = outcomes?.Removed ?? [],
                DeadLetters = deadLetters,
                Checkpoints = checkpoints,
                Notifications = notifications,
                ModelVersion = _model!.Model.Version,
            };

            // The commit runs while the next batch is applied; commits (and deliveries) keep their order.
            _committing = CommitAsync(_committing, store, logBatch, outcomes, deadLetters, started, cancellationToken);
            _inFlight.Enqueue(_committing);
        }
        finally
        {
            _structure.Release();
        }
    }

    /// <summary>
    /// Applies each partition's <see cref="Partition.Batch"/> (routed in arrival order) in parallel, one task per partition
    /// owning its engine, then shares the counted group messages with every partition (accounts are read across leads,
    /// spec 3.5; members they affect are replayed). Returns those group messages. The caller holds <see cref="_structure"/>.
    /// </summary>
    private async Task<List<LeadMessage>> ApplyRoutedAsync(Action<Partition>? prepare, CancellationToken cancellationToken)
    {
        // Apply: one task per partition, each owning its engine.
        await Task.WhenAll(_partitions.Where(p => p.Batch.Count > 0).Select(p => Task.Run(() =>
        {
            lock (p.Gate)
            {
                // The replay history learns where the batch's messages come from before the engine keeps them.
                prepare?.Invoke(p);
                // The engine's batch apply: exactly one Apply per message, in order, with the next rows prefetched.
                var outcomes = new ApplyOutcome[p.Batch.Count];
                p.Engine.Apply(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(p.Batch), outcomes);
                for (int i = 0; i < outcomes.Length; i++)
                {
                    p.Applied.Add((p.Batch[i], outcomes[i]));
                }
            }
        }, cancellationToken))).ConfigureAwait(false);

        // Accounts are shared: every partition sees every counted group message (and replays members it affects).
        var groups = _partitions.SelectMany(p => p.Applied).Where(a => a.Message.Type == MessageType.Group && a.Outcome != ApplyOutcome.Duplicate).Select(a => a.Message).ToList();
        if (groups.Count > 0)
        {
            foreach (var p in _partitions)
            {
                lock (p.Gate)
                {
                    p.Engine.ImportAccountMessages(groups);
                }
            }

            _scratch?.ImportAccountMessages(groups);
        }
        return groups;
    }

    /// <summary>
    /// The commit of the last batch applied, then the delivery of its notifications: the next batch is applied while it
    /// runs, and its own commit waits for it. Whoever else writes to the store (the stage clock, a re-scoring) or needs
    /// everything committed (drained, stopped) waits for it first, holding <see cref="_writer"/>.
    /// </summary>
    private Task _committing = Task.CompletedTask;

    /// <summary>
    /// How many batches may be applied and not yet committed: enough to ride out a slow commit (a write-ahead log
    /// checkpoint), few enough that a store slower than the loop does not make batches pile up in memory.
    /// </summary>
    internal const int MaxCommitsInFlight = 8;

    /// <summary>The commits started by the loop and not yet seen completed, oldest first (the loop's own).</summary>
    private readonly Queue<Task> _inFlight = new();

    private async Task CommitAsync(
        Task previous, LeadStoreBatch batch, LogBatch? logBatch, OutcomeWrite? outcomes, List<DeadLetter> deadLetters, long started, CancellationToken cancellationToken)
    {
        // Off the loop's thread even when the previous commit is done: a store that commits synchronously (SQLite) must
        // not hold up the apply of the next batch.
        await Task.Yield();
        int counted = batch.Messages.Count;
        await previous.ConfigureAwait(false);
        await _store.CommitAsync(batch, cancellationToken).ConfigureAwait(false);
        if (logBatch is not null)
        {
            // From now on the batch's messages are read at their log position (cached while recent).
            _messageLog!.Committed(logBatch, batch.LogPosition);
        }

        OutcomesCommitted(outcomes);
        Interlocked.Add(ref Committed, counted);
        Interlocked.Increment(ref Batches);
        _status.Committed(counted, deadLetters.Count);
        _metrics.Rejected.Add(deadLetters.Count);
        foreach (var d in deadLetters)
        {
            _logger.LogWarning("Rejected {Location} from {Source}: {Reason}", d.Location, d.Source, d.Reason);
        }

        // Handlers run outside every lock: a slow handler delays the next commit (so notifications keep their order),
        // never a read.
        await DeliverAsync(batch.Notifications, cancellationToken).ConfigureAwait(false);
        _metrics.BatchDuration.Record(_time.GetElapsedTime(started).TotalMilliseconds);
    }
}
