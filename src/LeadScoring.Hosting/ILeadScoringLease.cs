namespace LeadScoring.Hosting;

/// <summary>
/// The right to run the scoring pipeline on a shared store, held by one host at a time. When one is registered
/// (a store package does it, e.g. <c>UsePostgreSql(o => o.Lease = "inbox")</c>), the hosted service starts the
/// pipeline only once this host holds the lease (until then the host is a standby: it neither reads its sources nor
/// commits), and stops the host when the lease is lost. After a takeover the pipeline starts as after a crash: the
/// lead states at the state checkpoint, the message log after it, the sources from their committed checkpoints.
/// </summary>
/// <remarks>
/// The lease alone does not make two hosts safe: a paused host may not yet know it lost its lease. The store must
/// <em>fence</em> every commit: check, inside the commit's transaction, that this host still holds the lease it was
/// given, and fail the commit otherwise, so that nothing a former holder writes after a takeover reaches the store.
/// </remarks>
public interface ILeadScoringLease
{
    /// <summary>
    /// Waits until this host holds the lease (taking it when it is free or has expired), and keeps it (renewing it)
    /// until <see cref="ReleaseAsync"/>. Returns a token that is cancelled when the lease is lost (another host took it,
    /// or it could not be renewed before it expired).
    /// </summary>
    /// <param name="cancellationToken">Stops waiting (the host is stopping).</param>
    ValueTask<CancellationToken> AcquireAsync(CancellationToken cancellationToken);

    /// <summary>Gives the lease up (a graceful stop, after the last commit), so that a standby takes it at once. A no-op when not held.</summary>
    /// <param name="cancellationToken">Stops the release; the lease then expires on its own.</param>
    ValueTask ReleaseAsync(CancellationToken cancellationToken);
}
