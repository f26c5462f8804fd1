namespace LeadScoring.Hosting;

/// <summary>
/// The score history: rows of <see cref="ScoreHistoryEntry"/>, renamed, deleted from an instant on and appended with
/// each batch (<see cref="LeadStoreBatch.HistoryRenamed"/>, <see cref="LeadStoreBatch.HistoryReplacedFrom"/>,
/// <see cref="LeadStoreBatch.History"/>, applied in that order).
/// </summary>
public interface IScoreHistoryStore
{
    /// <summary>A lead's score history, oldest first (by <see cref="ScoreHistoryEntry.At"/>, then in the order appended).</summary>
    ValueTask<IReadOnlyList<ScoreHistoryEntry>> GetHistoryAsync(string leadId, CancellationToken cancellationToken);
}
