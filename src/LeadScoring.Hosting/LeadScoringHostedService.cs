using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LeadScoring.Hosting;

/// <summary>
/// Runs the scoring pipeline with the host: starts it (after options validation) and drains it on shutdown. When the
/// pipeline cannot go on (a batch that cannot be committed: a read-only, missing or damaged database), it records
/// the one-line reason in <see cref="LeadScoringStatus.Fault"/> and stops the host, so that a supervisor restarts
/// it instead of a process that stays up idle.
/// <para>With an <see cref="ILeadScoringLease"/> registered, the host starts as a standby: the pipeline starts in the
/// background once the lease is held (the host's start is not held up), and the host stops, with a fault, when the
/// lease is lost; a graceful stop drains the pipeline and then releases the lease.</para>
/// </summary>
internal sealed class LeadScoringHostedService(
    ScoringPipeline pipeline, LeadScoringStatus status, ILogger<LeadScoringHostedService> logger,
    IHostApplicationLifetime? lifetime = null, ILeadScoringLease? lease = null) : IHostedService, IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _leased = Task.CompletedTask;
    private bool _started;
    private bool _held;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (lease is not null)
        {
            _leased = Task.Run(() => RunLeasedAsync(lease, _stopping.Token), CancellationToken.None);
            return;
        }

        await StartPipelineAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _leased.ConfigureAwait(false);   // never throws: its failures are in Fault
        if (!Volatile.Read(ref _started))
        {
            return;
        }

        try
        {
            await pipeline.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (status.Fault is not null)
        {
            // Already said, once, in Fault and the critical log: the host stops cleanly and its entry point exits non-zero.
        }

        if (lease is not null && _held && status.Fault is null)
        {
            try
            {
                await lease.ReleaseAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                logger.LogWarning("The lead scoring lease could not be released ({Reason}); it expires on its own.", LeadScoringStatus.OneLine(ex));
            }
        }
    }

    public void Dispose() => _stopping.Dispose();

    private async Task StartPipelineAsync(CancellationToken cancellationToken)
    {
        try
        {
            await pipeline.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            status.Fault = "lead scoring could not start: " + LeadScoringStatus.OneLine(ex);
            throw;
        }

        Volatile.Write(ref _started, true);
        _ = pipeline.Completion.ContinueWith(
            t =>
            {
                if (t.Exception is { } ex)
                {
                    Stop("the scoring pipeline stopped: " + LeadScoringStatus.OneLine(ex.GetBaseException()));
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Waits for the lease, then starts the pipeline; stops the host when the lease is lost or the start fails.</summary>
    private async Task RunLeasedAsync(ILeadScoringLease held, CancellationToken stopping)
    {
        try
        {
            logger.LogInformation("Lead scoring is waiting for its lease (standby until it is free or expires).");
            var lost = await held.AcquireAsync(stopping).ConfigureAwait(false);
            _held = true;
            logger.LogInformation("Lead scoring holds its lease: starting the pipeline.");
            lost.Register(() => Stop("the lead scoring lease was lost (another host took it, or it could not be renewed in time)"));
            await StartPipelineAsync(stopping).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            // The host stopped while this one was a standby (or starting).
        }
        catch (Exception ex)
        {
            Stop(status.Fault ?? "lead scoring could not take its lease: " + LeadScoringStatus.OneLine(ex));
        }
    }

    private void Stop(string fault)
    {
        if (status.Fault is null)
        {
            status.Fault = fault;
        }

        logger.LogCritical("{Fault}. Stopping the host.", status.Fault);
        lifetime?.StopApplication();
    }
}
