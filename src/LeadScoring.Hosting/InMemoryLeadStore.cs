using System.Runtime.CompilerServices;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Stores;

namespace LeadScoring.Hosting;

/// <summary>
/// The default store: everything in memory, lost when the process ends. For tests, demos and hosts that rebuild
/// from their own source. Thread-safe (one lock).
/// </summary>
public sealed class InMemoryLeadStore : ILeadStore
{
    private readonly object _gate = new();
    private readonly Dictionary<string, LeadSnapshot> _leads = new(StringComparer.Ordinal);
    private readonly List<IReadOnlyList<LeadMessage>> _log = [];
    private long _statePosition;
    private readonly Dictionary<string, List<ScoreHistoryEntry>> _history = new(StringComparer.Ordinal);
    private readonly List<DeadLetter> _deadLetters = [];
    private readonly Dictionary<string, string> _checkpoints = new(StringComparer.Ordinal);
    private readonly List<LeadNotification> _outbox = [];
    private string? _modelVersion;
    private DateTimeOffset? _stageClock;

    // Current outcomes (ILeadOutcomeStore) as the batches give them, and two ordered indexes of them.
    private readonly Dictionary<string, ScoreHistoryEntry> _outcomes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<(double Value, string LeadId)>> _byScore = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SortedSet<(double Value, string LeadId)>> _byStage = new(StringComparer.Ordinal);

    /// <inheritdoc />
    ValueTask ILeadStore.InitializeAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    ValueTask<string?> IPipelinePositions.GetCheckpointAsync(string source, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_checkpoints.GetValueOrDefault(source));
        }
    }

    /// <inheritdoc />
    ValueTask<string?> IPipelinePositions.GetModelVersionAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_modelVersion);
        }
    }

    /// <inheritdoc />
    ValueTask<DateTimeOffset?> IPipelinePositions.GetStageClockAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_stageClock);
        }
    }

    /// <inheritdoc />
    ValueTask<long> ILeadStateStore.GetStatePositionAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_statePosition);
        }
    }

    /// <inheritdoc />
    async IAsyncEnumerable<LeadSnapshot> ILeadStateStore.LoadLeadsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<LeadSnapshot> copy;
        lock (_gate)
        {
            copy = [.. _leads.Values];
        }

        foreach (var lead in copy)
        {
            yield return lead;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    async IAsyncEnumerable<(long Position, IReadOnlyList<LeadMessage> Messages)> IMessageLog.ReadLogAsync(long after, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<(long, IReadOnlyList<LeadMessage>)> copy;
        lock (_gate)
        {
            // Positions are 1, 2, ...: the batches after `after` start at its index.
            copy = [.. _log.Skip((int)Math.Clamp(after, 0, _log.Count)).Select((m, i) => ((long)(Math.Max(after, 0) + i + 1), m))];
        }

        foreach (var batch in copy)
        {
            yield return batch;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <summary>Batches read back by <see cref="IMessageLog.ReadLogBatch"/> so far (tests: in-order traffic reads none).</summary>
    internal long LogBatchesRead;

    /// <inheritdoc />
    IReadOnlyList<LeadMessage>? IMessageLog.ReadLogBatch(long position)
    {
        lock (_gate)
        {
            LogBatchesRead++;
            return position >= 1 && position <= _log.Count ? _log[(int)(position - 1)] : null;
        }
    }

    /// <inheritdoc />
    ValueTask ILeadStore.CommitAsync(LeadStoreBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        lock (_gate)
        {
            if (batch.ReplaceAllLeads)
            {
                _leads.Clear();
            }

            foreach (var id in batch.RemovedLeads)
            {
                _leads.Remove(id);
            }

            foreach (var lead in batch.Leads)
            {
                // States, not journals, as every store keeps them: the pipeline reads messages back from the log.
                _leads[lead.LeadId] = lead.Journal.IsEmpty ? lead : LeadSnapshot.Create(lead.LeadId, lead.Ids, lead.State, lead.BaseState, []);
            }

            if (batch.Messages.Count > 0)
            {
                _log.Add([.. batch.Messages]);
                batch.LogPosition = _log.Count;
            }

            if (batch.StateCheckpoint)
            {
                _statePosition = _log.Count;
            }

            foreach (var (from, to) in batch.HistoryRenamed)
            {
                if (_history.Remove(from, out var moved))
                {
                    HistoryOf(to).AddRange(moved.Select(e => new ScoreHistoryEntry(to, e.At, e.Scores, e.Grade, e.Stage, e.ModelVersion, e.MessageId)));
                }
            }

            foreach (var (leadId, from) in batch.HistoryReplacedFrom)
            {
                if (_history.TryGetValue(leadId, out var entries))
                {
                    entries.RemoveAll(e => e.At >= from);
                }
            }

            foreach (var entry in batch.History)
            {
                HistoryOf(entry.LeadId).Add(entry);
            }

            ApplyOutcomes(batch);

            _deadLetters.AddRange(batch.DeadLetters);
            foreach (var (source, checkpoint) in batch.Checkpoints)
            {
                _checkpoints[source] = checkpoint;
            }

            foreach (var n in batch.Notifications)
            {
                _outbox.RemoveAll(o => o.Key == n.Key);
                _outbox.Add(n);
            }

            if (batch.ModelVersion is not null)
            {
                _modelVersion = batch.ModelVersion;
            }

            if (batch.StageClock is { } tick)
            {
                _stageClock = tick;
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>History entries looked at by <see cref="IScoreHistoryStore.GetHistoryAsync"/> so far (tests: reads touch only the lead's own entries).</summary>
    internal long HistoryEntriesRead;

    /// <inheritdoc />
    ValueTask<IReadOnlyList<ScoreHistoryEntry>> IScoreHistoryStore.GetHistoryAsync(string leadId, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (!_history.TryGetValue(leadId, out var entries))
            {
                return ValueTask.FromResult<IReadOnlyList<ScoreHistoryEntry>>([]);
            }

            HistoryEntriesRead += entries.Count;
            return ValueTask.FromResult<IReadOnlyList<ScoreHistoryEntry>>(entries.OrderBy(h => h.At).ToList());
        }
    }

    /// <inheritdoc />
    ValueTask<IReadOnlyList<(string LeadId, double Value)>> ILeadOutcomeStore.TopAsync(string score, int count, CancellationToken cancellationToken)
    {
        string key = LeadOutcomes.ScoreQuery(score, count);
        lock (_gate)
        {
            return ValueTask.FromResult(First(_byScore.GetValueOrDefault(key), count));
        }
    }

    /// <inheritdoc />
    ValueTask<IReadOnlyList<(string LeadId, double Value)>> ILeadOutcomeStore.InStageAsync(string stage, int count, CancellationToken cancellationToken)
    {
        string key = LeadOutcomes.StageQuery(stage, count);
        lock (_gate)
        {
            return ValueTask.FromResult(First(_byStage.GetValueOrDefault(key), count));
        }
    }

    private static IReadOnlyList<(string LeadId, double Value)> First(SortedSet<(double Value, string LeadId)>? order, int count) =>
        order is null ? [] : order.Take(count).Select(o => (o.LeadId, o.Value)).ToList();

    /// <summary>Writes the batch's current outcomes (called under the lock): all deleted first with a re-scoring, then the removed ones, then those given.</summary>
    private void ApplyOutcomes(LeadStoreBatch batch)
    {
        if (batch.ReplaceAllLeads)
        {
            _outcomes.Clear();
            _byScore.Clear();
            _byStage.Clear();
        }

        foreach (string leadId in batch.RemovedOutcomes)
        {
            SetOutcome(leadId, null);
        }

        foreach (var entry in batch.Outcomes)
        {
            SetOutcome(entry.LeadId, entry);
        }
    }

    private void SetOutcome(string leadId, ScoreHistoryEntry? entry)
    {
        if (_outcomes.Remove(leadId, out var old))
        {
            foreach (var (name, value) in LeadOutcomes.Scores(old))
            {
                _byScore[name].Remove((value, leadId));
            }

            if (LeadOutcomes.StageKey(old.Stage) is { } oldStage)
            {
                _byStage[oldStage].Remove((LeadOutcomes.FirstScore(old) ?? double.NaN, leadId));
            }
        }

        if (entry is null)
        {
            return;
        }

        _outcomes[leadId] = entry;
        foreach (var (name, value) in LeadOutcomes.Scores(entry))
        {
            OrderOf(_byScore, name).Add((value, leadId));
        }

        if (LeadOutcomes.StageKey(entry.Stage) is { } stage)
        {
            OrderOf(_byStage, stage).Add((LeadOutcomes.FirstScore(entry) ?? double.NaN, leadId));
        }
    }

    private static SortedSet<(double Value, string LeadId)> OrderOf(Dictionary<string, SortedSet<(double Value, string LeadId)>> orders, string key)
    {
        if (!orders.TryGetValue(key, out var order))
        {
            orders[key] = order = new SortedSet<(double Value, string LeadId)>(LeadOutcomes.HighestFirst.Instance);
        }

        return order;
    }

    private List<ScoreHistoryEntry> HistoryOf(string leadId)
    {
        if (!_history.TryGetValue(leadId, out var entries))
        {
            _history[leadId] = entries = [];
        }

        return entries;
    }

    /// <inheritdoc />
    ValueTask<IReadOnlyList<DeadLetter>> IDeadLetterStore.GetDeadLettersAsync(int max, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<DeadLetter>>(_deadLetters.AsEnumerable().Reverse().Take(max).ToList());
        }
    }

    /// <inheritdoc />
    ValueTask<IReadOnlyList<LeadNotification>> IOutbox.LoadPendingNotificationsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<LeadNotification>>([.. _outbox]);
        }
    }

    /// <inheritdoc />
    ValueTask IOutbox.AcknowledgeNotificationsAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var set = keys.ToHashSet(StringComparer.Ordinal);
        lock (_gate)
        {
            _outbox.RemoveAll(n => set.Contains(n.Key));
        }

        return ValueTask.CompletedTask;
    }
}
