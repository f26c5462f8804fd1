using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LeadScoring.Hosting;

/// <summary>
/// Runs the scoring pipeline with the host: starts it (after options validation) and drains it on shutdown. When the
/// pipeline cannot go on (a batch that cannot be committed: a read-only, missing or damaged database), it records
/// the one-line reason in <see cref="LeadScoringStatus.Fault"/> and stops the host, so that a supervisor restarts
/// it instead of a process that stays up idle.
/// </summary>
internal sealed class LeadScoringHostedService(
    ScoringPipeline pipeline, LeadScoringStatus status, ILogger<LeadScoringHostedService> logger, IHostApplicationLifetime? lifetime = null) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
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

        _ = pipeline.Completion.ContinueWith(
            t =>
            {
                if (t.Exception is { } ex)
                {
                    status.Fault = "the scoring pipeline stopped: " + LeadScoringStatus.OneLine(ex.GetBaseException());
                    logger.LogCritical("{Fault}. Stopping the host.", status.Fault);
                    lifetime?.StopApplication();
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await pipeline.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception) when (status.Fault is not null)
        {
            // Already said, once, in Fault and the critical log: the host stops cleanly and its entry point exits non-zero.
        }
    }
}
