namespace LeadScoring.Hosting;

/// <summary>Dead letters: the records the pipeline could not use, appended with their batch (<see cref="LeadStoreBatch.DeadLetters"/>).</summary>
public interface IDeadLetterStore
{
    /// <summary>The most recent dead letters, newest first.</summary>
    ValueTask<IReadOnlyList<DeadLetter>> GetDeadLettersAsync(int max, CancellationToken cancellationToken);
}
