using LeadScoring.Messages;

namespace LeadScoring.Hosting;

/// <summary>
/// The message log: every counted message, appended one batch at a time (<see cref="LeadStoreBatch.Messages"/>), never
/// changed. It is the source of truth the pipeline rebuilds from: the messages after the last state checkpoint are
/// replayed on start, a lead's kept messages are read back from it, group messages (account traits) are taken from it,
/// and a new model version re-scores it whole. It is also the engines' replay history (<c>docs/hosting.md</c>,
/// "The replay history is the message log"): a message the pipeline no longer caches is read back with
/// <see cref="ReadLogBatch"/> when a lead is replayed.
/// </summary>
public interface IMessageLog
{
    /// <summary>
    /// The logged batches after <paramref name="after"/> (0: from the start), in commit order, each with its position:
    /// a number the store gives each batch with messages, increasing with every commit (gaps allowed).
    /// </summary>
    IAsyncEnumerable<(long Position, IReadOnlyList<LeadMessage> Messages)> ReadLogAsync(long after, CancellationToken cancellationToken);

    /// <summary>
    /// The messages of the one logged batch at <paramref name="position"/>, in their order; null when no batch is logged
    /// there. Synchronous: the pipeline's engines call it from their replay history, which is synchronous, on a worker
    /// thread and only when a lead must be replayed from messages no longer cached (a late message, an earlier copy,
    /// a merge, an account change), never for in-order traffic. A store should override it with one synchronous
    /// point read; the default reads <see cref="ReadLogAsync"/> after <paramref name="position"/> - 1 and blocks on
    /// its first batch (the pipeline has no synchronization context, so this cannot deadlock, but it holds a thread).
    /// </summary>
    /// <param name="position">A position <see cref="ReadLogAsync"/> reported, or <see cref="LeadStoreBatch.LogPosition"/>.</param>
    IReadOnlyList<LeadMessage>? ReadLogBatch(long position)
    {
        var batches = ReadLogAsync(position - 1, CancellationToken.None).GetAsyncEnumerator(CancellationToken.None);
        try
        {
            return batches.MoveNextAsync().AsTask().GetAwaiter().GetResult() && batches.Current.Position == position ? batches.Current.Messages : null;
        }
        finally
        {
            batches.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}
