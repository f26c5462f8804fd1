using LeadScoring.Engine;

namespace LeadScoring.Hosting;

/// <summary>
/// Lead states: one row per lead (its reported id, every id linked to it, and two opaque versioned blobs, the state and
/// the base state), written at state checkpoints (<see cref="LeadStoreBatch.StateCheckpoint"/>), not with every batch.
/// A state checkpoint records the position of the message log the states are as of; on start the pipeline loads the
/// states and replays the log after that position.
/// </summary>
public interface ILeadStateStore
{
    /// <summary>
    /// The position of the message log (<see cref="IMessageLog.ReadLogAsync"/>) the stored lead states are as of: every
    /// logged batch at or before it is in the states, none after it. 0 when no state checkpoint was committed.
    /// </summary>
    ValueTask<long> GetStatePositionAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Every stored lead state: <see cref="LeadSnapshot.LeadId"/>, <see cref="LeadSnapshot.Ids"/>,
    /// <see cref="LeadSnapshot.State"/> and <see cref="LeadSnapshot.BaseState"/> as committed. The journal may be left
    /// empty: the pipeline gives each lead its messages back from the message log.
    /// </summary>
    IAsyncEnumerable<LeadSnapshot> LoadLeadsAsync(CancellationToken cancellationToken);
}
