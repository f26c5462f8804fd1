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
    /// The store's <paramref name="count"/> leads with the highest <paramref name="score"/> as of their latest change
    /// (<see cref="ILeadOutcomeStore.TopAsync"/>, an index read), each evaluated now, in the store's order.
    /// </summary>
    public async ValueTask<IReadOnlyList<LeadResult>> TopAsync(string score, int count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(score);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (!_model!.ScoreNames.Contains(score))
        {
            throw new ArgumentException($"The model has no score '{score}'.", nameof(score));
        }

        return await ReadOrderAsync((n, ct) => _store.TopAsync(score, n, ct), count, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The store's leads in <paramref name="stage"/> as of their latest change, by their first score there, highest first
    /// (<see cref="ILeadOutcomeStore.InStageAsync"/>, an index read), each evaluated now, in the store's order.
    /// </summary>
    public async ValueTask<IReadOnlyList<LeadResult>> InStageAsync(string stage, int count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return await ReadOrderAsync((n, ct) => _store.InStageAsync(stage, n, ct), count, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Leads evaluated by <see cref="TopAsync"/> and <see cref="InStageAsync"/> so far (tests: they evaluate only the leads they return).</summary>
    internal long ListEvaluations;

    /// <summary>
    /// The first <paramref name="count"/> leads of a stored order, evaluated now. An id the engines do not know (yet), or
    /// a second id of a lead listed already (merged by a batch not committed yet), is skipped; when that leaves the list
    /// short, more of the order is read.
    /// </summary>
    private async Task<IReadOnlyList<LeadResult>> ReadOrderAsync(
        Func<int, CancellationToken, ValueTask<IReadOnlyList<string>>> order, int count, CancellationToken cancellationToken)
    {
        var results = new List<LeadResult>(Math.Min(count, 1024));
        var listed = new HashSet<string>(StringComparer.Ordinal);
        int asked = count;
        while (count > 0)
        {
            var ids = await order(asked, cancellationToken).ConfigureAwait(false);
            results.Clear();
            listed.Clear();
            var now = _time.GetUtcNow();
            await _structure.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                foreach (string id in ids)
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
                    if (result is not null && listed.Add(result.LeadId))
                    {
                        results.Add(result);
                    }
                }
            }
            finally
            {
                _structure.Release();
            }

            if (results.Count == count || ids.Count < asked || asked == int.MaxValue)
            {
                break;
            }

            asked = (int)Math.Min(int.MaxValue, 2L * asked);
        }

        return results;
    }

    public ValueTask<IReadOnlyList<ScoreHistoryEntry>> GetHistoryAsync(string leadId, CancellationToken cancellationToken = default) =>
        _store.GetHistoryAsync(leadId, cancellationToken);
}
