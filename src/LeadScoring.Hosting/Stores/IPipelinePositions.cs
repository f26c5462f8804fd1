namespace LeadScoring.Hosting;

/// <summary>
/// Where the pipeline stands: each source's checkpoint, the model version the leads were scored with, and the stage
/// clock's last tick; each a key and a value, set by a batch (<see cref="LeadStoreBatch.Checkpoints"/>,
/// <see cref="LeadStoreBatch.ModelVersion"/>, <see cref="LeadStoreBatch.StageClock"/>).
/// </summary>
public interface IPipelinePositions
{
    /// <summary>The checkpoint committed for <paramref name="source"/>, or null.</summary>
    ValueTask<string?> GetCheckpointAsync(string source, CancellationToken cancellationToken);

    /// <summary>The model version the stored leads were scored with, or null for an empty store.</summary>
    ValueTask<string?> GetModelVersionAsync(CancellationToken cancellationToken);

    /// <summary>
    /// The last tick of the stage clock the pipeline processed (<see cref="LeadStoreBatch.StageClock"/> of the latest
    /// batch that set it), or null when none was committed. After a restart the pipeline catches up the ticks after it.
    /// </summary>
    ValueTask<DateTimeOffset?> GetStageClockAsync(CancellationToken cancellationToken);
}
