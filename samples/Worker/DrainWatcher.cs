using LeadScoring.Hosting;
using LeadScoring.Model;
using LeadScoring.Output;
using Microsoft.Extensions.Options;

namespace LeadScoring.Samples.Worker;

/// <summary>With <c>Worker:ExitWhenDrained</c>, stops the host once everything was read and committed; writes <c>Worker:Output</c> on exit.</summary>
public sealed class DrainWatcher(
    WorkerSettings settings, LeadScoringStatus status, ILeadScoreReader reader, IOptions<LeadScoringOptions> options,
    IHostApplicationLifetime lifetime, ILogger<DrainWatcher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!settings.ExitWhenDrained)
        {
            return;
        }

        int quiet = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(100, stoppingToken);
            quiet = status.IsDrained ? quiet + 1 : 0;
            if (quiet >= 3)
            {
                break;
            }
        }

        if (settings.Output is { } output)
        {
            try
            {
                await WriteOutputAsync(output, stoppingToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError("The output {Output} could not be written: {Reason}", output, WorkerSettings.OneLine(ex));
                Console.Error.WriteLine($"worker: the output '{output}' could not be written: {WorkerSettings.OneLine(ex)}");
                Environment.ExitCode = 1;
            }
        }

        logger.LogInformation("Drained: {Messages} messages committed, {Rejected} rejected.", status.CommittedMessages, status.RejectedMessages);
        lifetime.StopApplication();
    }

    private async Task WriteOutputAsync(string output, CancellationToken stoppingToken)
    {
        {
            var asOf = settings.AsOf ?? DateTimeOffset.UtcNow;
            // Every lead, listed by the model's first score (a model need not have a 'fit' score).
            var o = options.Value;
            var model = o.Model ?? (o.ModelJson is { } json ? ScoringModelLoader.Load(json) : ScoringModelLoader.LoadFile(o.ModelPath!)).GetModelOrThrow();
            var leads = await reader.TopAsync(model.Scores[0].Name, int.MaxValue, stoppingToken);
            var lines = new List<string>();
            foreach (var id in leads.Select(l => l.LeadId).Order(StringComparer.Ordinal))
            {
                if (await reader.GetLeadAsync(id, asOf, stoppingToken) is { } lead)
                {
                    lines.Add(LeadResultJson.ToJson(lead));
                }
            }

            await File.WriteAllLinesAsync(output, lines, stoppingToken);
        }
    }
}
