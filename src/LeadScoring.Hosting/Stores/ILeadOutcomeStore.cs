namespace LeadScoring.Hosting;

/// <summary>
/// Each lead's current outcome, indexed: the scores, grade and stage of its latest score history entry, as the pipeline
/// gives them at state checkpoints (<see cref="LeadStoreBatch.Outcomes"/>, <see cref="LeadStoreBatch.RemovedOutcomes"/>;
/// all of them replaced with <see cref="LeadStoreBatch.ReplaceAllLeads"/>). The store writes exactly those rows; it does
/// not derive them from the history. Between checkpoints the rows lag behind: the pipeline overlays the leads changed
/// since (see docs/hosting.md, Reading). The order is by the scores as of each lead's latest change, not decayed to now;
/// ties go to the lower lead id (ordinal).
/// </summary>
public interface ILeadOutcomeStore
{
    /// <summary>
    /// The <paramref name="count"/> leads whose outcome has the highest <paramref name="score"/>, highest first (leads
    /// without that score are left out): each id with that score (NaN last).
    /// </summary>
    ValueTask<IReadOnlyList<(string LeadId, double Value)>> TopAsync(string score, int count, CancellationToken cancellationToken);

    /// <summary>
    /// Up to <paramref name="count"/> leads whose outcome is in <paramref name="stage"/> (ignoring case), by their outcome's
    /// first score (0 when it has none), highest first: each id with that score (NaN last).
    /// </summary>
    ValueTask<IReadOnlyList<(string LeadId, double Value)>> InStageAsync(string stage, int count, CancellationToken cancellationToken);
}
