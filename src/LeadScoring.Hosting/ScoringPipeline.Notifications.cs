using LeadScoring.Engine;
using LeadScoring.Messages;
using Microsoft.Extensions.Logging;

namespace LeadScoring.Hosting;

/// <summary>
/// Notification dispatch: the outbox entries made with a batch, and their delivery to the handlers after the commit,
/// outside every lock (in-process notifications reach handlers as the objects made at commit time).
/// </summary>
internal sealed partial class ScoringPipeline
{
    /// <summary>
    /// The arguments of the notifications made in this process and not yet delivered, by key: delivery after the commit
    /// hands these objects to the handlers instead of parsing back the JSON written for the outbox. Notifications left
    /// pending by an earlier run are parsed from the outbox.
    /// </summary>
    private readonly Dictionary<string, object> _unsent = new(StringComparer.Ordinal);

    /// <summary>How many notifications were delivered from their outbox JSON (left pending by an earlier run).</summary>
    internal long NotificationsParsed;

    private LeadNotification Outgoing(ScoreChangedArguments args)
    {
        lock (_unsent)
        {
            _unsent[args.IdempotencyKey] = args;
        }

        return new LeadNotification(args.IdempotencyKey, LeadNotificationKind.ScoreChanged, args.LeadId, NotificationJson.Write(args));
    }

    private LeadNotification Outgoing(StageChangedArguments args)
    {
        lock (_unsent)
        {
            _unsent[args.IdempotencyKey] = args;
        }

        return new LeadNotification(args.IdempotencyKey, LeadNotificationKind.StageChanged, args.LeadId, NotificationJson.Write(args));
    }

    private T Arguments<T>(LeadNotification n, Func<string, T> parse)
    {
        lock (_unsent)
        {
            if (_unsent.Remove(n.Key, out var kept) && kept is T args)
            {
                return args;
            }
        }

        Interlocked.Increment(ref NotificationsParsed);
        return parse(n.Payload);
    }

    private async Task DeliverAsync(IReadOnlyList<LeadNotification> notifications, CancellationToken cancellationToken)
    {
        if (notifications.Count == 0)
        {
            return;
        }

        var delivered = new List<string>(notifications.Count);
        foreach (var n in notifications)
        {
            try
            {
                if (n.Kind == LeadNotificationKind.StageChanged)
                {
                    var args = Arguments(n, NotificationJson.ReadStage);
                    foreach (var h in _stageHandlers)
                    {
                        await h.OnStageChangedAsync(args, cancellationToken).ConfigureAwait(false);
                    }
                }
                else
                {
                    var args = Arguments(n, NotificationJson.ReadScore);
                    foreach (var h in _scoreHandlers)
                    {
                        await h.OnScoreChangedAsync(args, cancellationToken).ConfigureAwait(false);
                    }
                }

                delivered.Add(n.Key);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Left in the outbox: delivered again on the next start.
                _logger.LogError(ex, "A handler failed for notification {Kind}; it stays in the outbox and is delivered again on restart.", n.Kind);
            }
        }

        await _store.AcknowledgeNotificationsAsync(delivered, cancellationToken).ConfigureAwait(false);
    }
}
