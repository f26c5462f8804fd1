using System.Runtime.CompilerServices;
using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Hosting;

/// <summary>
/// The default store: everything in memory, lost when the process ends. For tests, demos and hosts that rebuild
/// from their own source. Thread-safe (one lock).
/// </summary>
public sealed class InMemoryLeadStore : ILeadStore
{
    private readonly object _gate = new();
    private readonly Dictionary<string, LeadSnapshot> _leads = new(StringComparer.Ordinal);
    private readonly List<LeadMessage> _messages = [];
    private readonly List<LeadMessage> _accounts = [];
    private readonly Dictionary<string, List<ScoreHistoryEntry>> _history = new(StringComparer.Ordinal);
    private readonly List<DeadLetter> _deadLetters = [];
    private readonly Dictionary<string, string> _checkpoints = new(StringComparer.Ordinal);
    private readonly List<LeadNotification> _outbox = [];
    private string? _modelVersion;
    private DateTimeOffset? _stageClock;

    /// <inheritdoc />
    public ValueTask InitializeAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <inheritdoc />
    public ValueTask<string?> GetCheckpointAsync(string source, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_checkpoints.GetValueOrDefault(source));
        }
    }

    /// <inheritdoc />
    public ValueTask<string?> GetModelVersionAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_modelVersion);
        }
    }

    /// <inheritdoc />
    public ValueTask<DateTimeOffset?> GetStageClockAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_stageClock);
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<LeadSnapshot> LoadLeadsAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        List<LeadSnapshot> copy;
        lock (_gate)
        {
            // Each lead with every logged message of its ids, as the SQLite store gives it (the pipeline saves states
            // without their journal): the engine keeps what follows the base state, and knows the ids of the messages
            // folded into it (so that a retry of one is not counted again).
            var logged = _messages.ToLookup(m => m.LeadId, StringComparer.Ordinal);
            copy = [.. _leads.Values.Select(lead =>
                LeadSnapshot.Create(lead.LeadId, lead.Ids, lead.State, lead.BaseState, [.. lead.Journal, .. lead.Ids.SelectMany(id => logged[id])]))];
        }

        foreach (var lead in copy)
        {
            yield return lead;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public IAsyncEnumerable<LeadMessage> LoadAccountMessagesAsync(CancellationToken cancellationToken) => Snapshot(_accounts);

    /// <inheritdoc />
    public IAsyncEnumerable<LeadMessage> LoadMessagesAsync(CancellationToken cancellationToken) => Snapshot(_messages);

    private async IAsyncEnumerable<LeadMessage> Snapshot(List<LeadMessage> list)
    {
        List<LeadMessage> copy;
        lock (_gate)
        {
            copy = [.. list];
        }

        foreach (var m in copy)
        {
            yield return m;
        }

        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask CommitAsync(LeadStoreBatch batch, CancellationToken cancellationToken)
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
                _leads[lead.LeadId] = lead;
            }

            _messages.AddRange(batch.Messages);
            _accounts.AddRange(batch.AccountMessages);
            foreach (var (from, to) in batch.HistoryRenamed)
            {
                if (_history.Remove(from, out var moved))
                {
                    HistoryOf(to).AddRange(moved.Select(e => e with { LeadId = to }));
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

    /// <summary>History entries looked at by <see cref="GetHistoryAsync"/> so far (tests: reads touch only the lead's own entries).</summary>
    internal long HistoryEntriesRead;

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ScoreHistoryEntry>> GetHistoryAsync(string leadId, CancellationToken cancellationToken)
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

    private List<ScoreHistoryEntry> HistoryOf(string leadId)
    {
        if (!_history.TryGetValue(leadId, out var entries))
        {
            _history[leadId] = entries = [];
        }

        return entries;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int max, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<DeadLetter>>(_deadLetters.AsEnumerable().Reverse().Take(max).ToList());
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<LeadNotification>> LoadPendingNotificationsAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return ValueTask.FromResult<IReadOnlyList<LeadNotification>>([.. _outbox]);
        }
    }

    /// <inheritdoc />
    public ValueTask AcknowledgeNotificationsAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
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
