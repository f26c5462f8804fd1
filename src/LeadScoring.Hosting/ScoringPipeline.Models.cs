using System.Diagnostics;
using LeadScoring.Engine;
using LeadScoring.Messages;
using Microsoft.Extensions.Logging;

namespace LeadScoring.Hosting;

/// <summary>
/// Model switching: a new model (or a changed one under the same version) re-scores every lead from the message log;
/// the new engines replace the old ones under the readers' lock, so a read sees the old engines or the new, complete ones.
/// </summary>
internal sealed partial class ScoringPipeline
{
    /// <summary>Swaps in a model that changed since the last batch (re-scoring every lead). The caller holds <see cref="_writer"/>.</summary>
    private async Task ApplyPendingModelAsync()
    {
        var next = Interlocked.Exchange(ref _pendingModel, null);
        if (next is not null)
        {
            await _committing.ConfigureAwait(false);
        }

        if (next is not null && next.Model.Version != _model!.Model.Version)
        {
            await RescoreAsync(next, CancellationToken.None).ConfigureAwait(false);
        }
        else if (next is not null)
        {
            await SwapSameVersionAsync(next).ConfigureAwait(false);
        }
    }

    private async Task SwapSameVersionAsync(CompiledModel next)
    {
        _logger.LogWarning("The model changed but kept version {Version}; re-scoring anyway. Give every change a new version so handlers and history can tell them apart.", next.Model.Version);
        await RescoreAsync(next, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Re-scores every stored lead from the message log under <paramref name="next"/>; handlers hear only of changed outcomes.</summary>
    private async Task RescoreAsync(CompiledModel next, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        _logger.LogInformation("Re-scoring every lead with model {Name} {Version}.", next.Model.Name, next.Model.Version);
        // Under the readers' lock from the swap to the commit: a read sees the old engines or the new, complete ones.
        IReadOnlyList<LeadNotification> notifications;
        await _structure.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var previousPartitions = _partitions;
            var previousRoute = new Dictionary<string, int>(_route, StringComparer.Ordinal);
            _partitions = NewPartitions(next);
            _route.Clear();
            long count = 0;
            await foreach (var (position, messages) in _store.ReadLogAsync(0, cancellationToken).ConfigureAwait(false))
            {
                _messageLog?.Logged(position, messages);
                for (int i = 0; i < messages.Count; i++)
                {
                    var m = messages[i];
                    var p = _partitions[Route(m)];
                    if (p.History is { } kept)
                    {
                        // The new engines keep each message by its place in the log.
                        kept.ClearExpected();
                        kept.Expect(m, position, i);
                    }

                    p.Engine.Apply(m);
                    if (m.Type == MessageType.Group)
                    {
                        foreach (var other in _partitions)
                        {
                            if (!ReferenceEquals(other, p))
                            {
                                other.Engine.ImportAccountMessages([m]);
                            }
                        }
                    }

                    if (++count % 100_000 == 0)
                    {
                        _logger.LogInformation("Re-scoring: {Count} messages replayed.", count);
                    }
                }
            }

            try
            {
                _model = next;
                (_, _, var history, notifications) = CollectChanges(rescore: true);
                var snapshots = TakeAllStates();
                await _store.CommitAsync(new LeadStoreBatch
                {
                    Leads = snapshots,
                    ReplaceAllLeads = true,
                    Outcomes = AllOutcomes(snapshots.Select(s => s.LeadId)),
                    StateCheckpoint = true,
                    History = history.Entries,
                    Notifications = notifications,
                    ModelVersion = next.Model.Version,
                }, cancellationToken).ConfigureAwait(false);
                _metrics.Rescored.Add(snapshots.Count);
                _logger.LogInformation("Re-scored {Leads} leads from {Messages} messages with model {Version} in {Elapsed} ms; {Changed} outcome(s) changed.",
                    snapshots.Count, count, next.Model.Version, clock.ElapsedMilliseconds, history.Entries.Count);
            }
            catch
            {
                _partitions = previousPartitions;
                _route.Clear();
                foreach (var (k, v) in previousRoute)
                {
                    _route[k] = v;
                }

                throw;
            }
        }
        finally
        {
            _structure.Release();
        }

        await DeliverAsync(notifications, cancellationToken).ConfigureAwait(false);
    }
}
