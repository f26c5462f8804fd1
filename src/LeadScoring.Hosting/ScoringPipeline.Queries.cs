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

    public async ValueTask<IReadOnlyList<LeadResult>> TopAsync(string score, int count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(score);
        var all = await EvaluateAllAsync(cancellationToken).ConfigureAwait(false);
        var model = _model ?? throw new InvalidOperationException("The scoring pipeline has not started yet (a standby host waits for its lease).");
        int index = model.ScoreNames.IndexOf(score);
        if (index < 0)
        {
            throw new ArgumentException($"The model has no score '{score}'.", nameof(score));
        }

        return all.OrderByDescending(r => r.ValueAt(index)).ThenBy(r => r.LeadId, StringComparer.Ordinal).Take(count).ToList();
    }

    public async ValueTask<IReadOnlyList<LeadResult>> InStageAsync(string stage, int count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stage);
        var all = await EvaluateAllAsync(cancellationToken).ConfigureAwait(false);
        return all.Where(r => string.Equals(r.Stage, stage, StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(r => r.ScoreNames.Length > 0 ? r.ValueAt(0) : 0).ThenBy(r => r.LeadId, StringComparer.Ordinal)
            .Take(count).ToList();
    }

    public ValueTask<IReadOnlyList<ScoreHistoryEntry>> GetHistoryAsync(string leadId, CancellationToken cancellationToken = default) =>
        _store.GetHistoryAsync(leadId, cancellationToken);

    private async Task<List<LeadResult>> EvaluateAllAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var results = new List<LeadResult>();
        await _structure.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var p in _partitions)
            {
                lock (p.Gate)
                {
                    results.AddRange(p.Engine.EvaluateAll(now));
                }
            }
        }
        finally
        {
            _structure.Release();
        }

        return results;
    }
}
