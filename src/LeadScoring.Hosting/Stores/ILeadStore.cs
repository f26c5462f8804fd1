namespace LeadScoring.Hosting;

/// <summary>
/// A store for the pipeline: the small contracts of each concern it keeps (<see cref="ILeadStateStore"/> lead states,
/// <see cref="IMessageLog"/> the message log, <see cref="IScoreHistoryStore"/> score history and <see cref="ILeadOutcomeStore"/> its indexed latest entries, <see cref="IOutbox"/> handler
/// notifications, <see cref="IDeadLetterStore"/> dead letters, <see cref="IPipelinePositions"/> where the pipeline stands),
/// written together by one atomic <see cref="CommitAsync"/>: the rows of every concern that a <see cref="LeadStoreBatch"/>
/// carries are committed in one transaction, so after a crash either the whole batch is there or none of it.
/// </summary>
public interface ILeadStore : ILeadStateStore, IMessageLog, IScoreHistoryStore, IOutbox, IDeadLetterStore, IPipelinePositions, ILeadOutcomeStore
{
    /// <summary>Creates or migrates the store's schema. Called once on start, before anything else.</summary>
    ValueTask InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Writes a batch, every concern's rows in it, atomically (see <see cref="LeadStoreBatch"/> for the order).</summary>
    ValueTask CommitAsync(LeadStoreBatch batch, CancellationToken cancellationToken);
}
