using LeadScoring.Hosting;
using LeadScoring.Output;

namespace LeadScoring.Samples.WebApi;

/// <summary>
/// Logs every stage move at Information: the lead id, the two stages, when, and the model version. Never a trait
/// or property value (titles, e-mail addresses, company names stay out of the logs).
/// </summary>
public sealed partial class StageChangeLogger(ILogger<StageChangeLogger> logger) : IStageChangedHandler
{
    /// <inheritdoc />
    public ValueTask OnStageChangedAsync(StageChangedArguments arguments, CancellationToken cancellationToken)
    {
        LogStageChanged(logger, arguments.LeadId, arguments.From, arguments.To, LeadResultJson.FormatTime(arguments.At), arguments.ModelVersion);
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Lead {LeadId} moved from stage {From} to {To} at {At} (model {ModelVersion})")]
    private static partial void LogStageChanged(ILogger logger, string leadId, string from, string to, string at, string modelVersion);
}
