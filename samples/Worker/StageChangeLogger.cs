using LeadScoring.Hosting;

namespace LeadScoring.Samples.Worker;

/// <summary>Logs stage changes ("this lead just became an MQL"), and optionally appends their idempotency keys to a file.</summary>
public sealed class StageChangeLogger(ILogger<StageChangeLogger> logger, WorkerSettings settings) : IStageChangedHandler
{
    private readonly object _gate = new();

    public ValueTask OnStageChangedAsync(StageChangedArguments arguments, CancellationToken cancellationToken)
    {
        // Lead ids and stage names only: no trait values (personal data) in logs.
        logger.LogInformation("Lead {LeadId} moved from {From} to {To} at {At:O} (model {Version}).",
            arguments.LeadId, arguments.From, arguments.To, arguments.At, arguments.ModelVersion);
        if (settings.HandlerLog is { } path)
        {
            lock (_gate)
            {
                File.AppendAllText(path, arguments.IdempotencyKey + Environment.NewLine);
            }
        }

        return ValueTask.CompletedTask;
    }
}
