using LeadScoring.Messages;

namespace LeadScoring.Hosting;

/// <summary>
/// The message log: every counted message, appended one batch at a time (<see cref="LeadStoreBatch.Messages"/>), never
/// changed. It is the source of truth the pipeline rebuilds from: the messages after the last state checkpoint are
/// replayed on start, a lead's kept messages are read back from it, group messages (account traits) are taken from it,
/// and a new model version re-scores it whole.
/// </summary>
public interface IMessageLog
{
    /// <summary>
    /// The logged batches after <paramref name="after"/> (0: from the start), in commit order, each with its position:
    /// a number the store gives each batch with messages, increasing with every commit (gaps allowed).
    /// </summary>
    IAsyncEnumerable<(long Position, IReadOnlyList<LeadMessage> Messages)> ReadLogAsync(long after, CancellationToken cancellationToken);
}
