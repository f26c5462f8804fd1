namespace LeadScoring.Hosting;

/// <summary>
/// Each lead's current outcome, indexed: the lead's latest score history entry (the last one
/// <see cref="IScoreHistoryStore.GetHistoryAsync"/> returns), kept by the store in the same commit as the history rows it
/// comes from (<see cref="LeadStoreBatch.HistoryRenamed"/>, <see cref="LeadStoreBatch.HistoryReplacedFrom"/>,
/// <see cref="LeadStoreBatch.History"/>). A lead with no history entry has no outcome. The order is by the scores as of
/// each lead's latest change, not decayed to now; ties go to the lower lead id (ordinal).
/// </summary>
public interface ILeadOutcomeStore
{
    /// <summary>The ids of the <paramref name="count"/> leads whose outcome has the highest <paramref name="score"/>, highest first (leads without that score are left out).</summary>
    ValueTask<IReadOnlyList<string>> TopAsync(string score, int count, CancellationToken cancellationToken);

    /// <summary>The ids of up to <paramref name="count"/> leads whose outcome is in <paramref name="stage"/> (ignoring case), by their outcome's first score, highest first.</summary>
    ValueTask<IReadOnlyList<string>> InStageAsync(string stage, int count, CancellationToken cancellationToken);
}
