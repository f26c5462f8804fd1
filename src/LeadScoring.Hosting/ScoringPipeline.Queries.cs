using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Hosting;

/// <summary>Queries: a lead, the top leads, the leads in a stage, and a lead's score history.</summary>
internal sealed partial class ScoringPipeline
{
    public async ValueTask<LeadResult?> GetLeadAsync(string leadId, DateTimeOffset? asOf = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        await _structure.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_route.TryGetValue(leadId, out int p))
            {
                return null;
            }

            lock (_partitions[p].Gate)
            {
                return _partitions[p].Engine.Evaluate(leadId, asOf ?? _time.GetUtcNow(), explain: true);
            }
        }
        finally
        {
            _structure.Release();
        }
    }

    /// <summary>
    /// The <paramref name="count"/> leads with the highest <paramref name="score"/> as of their latest change: the store's
    /// order (<see cref="ILeadOutcomeStore.TopAsync"/>, an index read) merged with the outcome overlay, each listed lead
    /// evaluated now.
    /// </summary>
    public async ValueTask<IReadOnlyList<LeadResult>> TopAsync(string score, int count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(score);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var model = _model ?? throw new InvalidOperationException(NotStarted);
        if (!model.ScoreNames.Contains(score))
        {
            throw new ArgumentException($"The model has no score '{score}'.", nameof(score));
        }

        return await ReadOrderAsync((n, ct) => _store.TopAsync(score, n, ct), e => Stores.LeadOutcomes.ScoreValue(e, score), count, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// The leads in <paramref name="stage"/> as of their latest change, by their first score there, highest first: the
    /// store's order (<see cref="ILeadOutcomeStore.InStageAsync"/>, an index read) merged with the outcome overlay, each
    /// listed lead evaluated now.
    /// </summary>
    public async ValueTask<IReadOnlyList<LeadResult>> InStageAsync(string stage, int count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        _ = _model ?? throw new InvalidOperationException(NotStarted);
        string key = Stores.LeadOutcomes.StageKey(stage)!;
        return await ReadOrderAsync((n, ct) => _store.InStageAsync(stage, n, ct), e => Stores.LeadOutcomes.StageValue(e, key), count, cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>What a list says before the pipeline has started (a standby host has no leads to evaluate it with).</summary>
    private const string NotStarted = "The scoring pipeline has not started yet (a standby host waits for its lease).";

    /// <summary>Leads evaluated by <see cref="TopAsync"/> and <see cref="InStageAsync"/> so far (tests: they evaluate only the leads they return).</summary>
    internal long ListEvaluations;

    /// <summary>Store orders read by <see cref="TopAsync"/> and <see cref="InStageAsync"/> so far (tests: paging and re-reads).</summary>
    internal long OrderReads;

    /// <summary>
    /// The first <paramref name="count"/> leads of an order, evaluated now. The store's order is read (at least
    /// <paramref name="count"/> ids more than the overlay can hide, paging on while too few are left), the leads of the
    /// outcome overlay dropped from it and merged back with their outcomes now (<paramref name="valueOf"/>: the value an
    /// outcome is listed by, null when it is not listed), in the same order (highest first, NaN last, ties by lead id).
    /// When an outcome write was committed while the store was read, it is read again.
    /// </summary>
    private async Task<IReadOnlyList<LeadResult>> ReadOrderAsync(
        Func<int, CancellationToken, ValueTask<IReadOnlyList<(string LeadId, double Value)>>> order, Func<ScoreHistoryEntry, double?> valueOf,
        int count, CancellationToken cancellationToken)
    {
        if (count == 0)
        {
            return [];
        }

        long asked = count + Math.Min(Volatile.Read(ref _overlayHint), 4L * count + 64);
        while (true)
        {
            long writesDone = OutcomeWritesDone();
            int n = (int)Math.Min(int.MaxValue, asked);
            var stored = await order(n, cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref OrderReads);
            var now = _time.GetUtcNow();
            await _structure.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (OutcomeOverlay(writesDone) is not { } overlay)
                {
                    continue;   // the outcome tables moved on while they were read
                }

                Volatile.Write(ref _overlayHint, overlay.Count);
                var listed = new List<(double Value, string LeadId)>(Math.Min(stored.Count + overlay.Count, 4096));
                foreach (var (id, value) in stored)
                {
                    if (!overlay.Contains(id))
                    {
                        listed.Add((value, id));
                    }
                }

                if (listed.Count < count && stored.Count == n && n < int.MaxValue)
                {
                    asked = 2 * asked;   // the overlay hid too many: read more of the store's order
                    continue;
                }

                foreach (string id in overlay)
                {
                    if (CurrentOutcome(id) is { } entry && valueOf(entry) is { } value)
                    {
                        listed.Add((value, id));
                    }
                }

                listed.Sort(Stores.LeadOutcomes.HighestFirst.Instance);
                return Evaluate(listed, count, now);
            }
            finally
            {
                _structure.Release();
            }
        }
    }

    /// <summary>The overlay's size at the last read: how many more ids the next read asks the store for.</summary>
    private long _overlayHint;

    /// <summary>The first <paramref name="count"/> leads of <paramref name="listed"/> evaluated now (each once). The caller holds <see cref="_structure"/>.</summary>
    private List<LeadResult> Evaluate(List<(double Value, string LeadId)> listed, int count, DateTimeOffset now)
    {
        var results = new List<LeadResult>(Math.Min(count, listed.Count));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, id) in listed)
        {
            if (results.Count == count)
            {
                break;
            }

            if (!_route.TryGetValue(id, out int p))
            {
                continue;
            }

            LeadResult? result;
            lock (_partitions[p].Gate)
            {
                result = _partitions[p].Engine.Evaluate(id, now);
            }

            Interlocked.Increment(ref ListEvaluations);
            if (result is not null && seen.Add(result.LeadId))
            {
                results.Add(result);
            }
        }

        return results;
    }

    public ValueTask<IReadOnlyList<ScoreHistoryEntry>> GetHistoryAsync(string leadId, CancellationToken cancellationToken = default) =>
        _store.GetHistoryAsync(leadId, cancellationToken);
}
