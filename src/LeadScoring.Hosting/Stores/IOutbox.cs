namespace LeadScoring.Hosting;

/// <summary>
/// The outbox: handler notifications committed with the batch that caused them (<see cref="LeadStoreBatch.Notifications"/>,
/// one per key, the last given wins), removed once delivered. What is left after a crash is delivered again on start.
/// </summary>
public interface IOutbox
{
    /// <summary>Notifications committed but not yet acknowledged, oldest first.</summary>
    ValueTask<IReadOnlyList<LeadNotification>> LoadPendingNotificationsAsync(CancellationToken cancellationToken);

    /// <summary>Removes delivered notifications from the outbox.</summary>
    ValueTask AcknowledgeNotificationsAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);
}
