using LeadScoring.Hosting;
using LeadScoring.Output;

namespace LeadScoring.Samples.Worker;

/// <summary>With <c>Worker:ExitWhenDrained</c>, stops the host once everything was read and committed; writes <c>Worker:Output</c> on exit.</summary>
public sealed class DrainWatcher(
    WorkerSettings settings, LeadScoringStatus status, ILeadScoreReader reader, IHostApplicationLifetime lifetime, ILogger<DrainWatcher> logger) : BackgroundService
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
            var asOf = settings.AsOf ?? DateTimeOffset.UtcNow;
            var leads = await reader.TopAsync("fit", int.MaxValue, stoppingToken);
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

        logger.LogInformation("Drained: {Messages} messages committed, {Rejected} rejected.", status.CommittedMessages, status.RejectedMessages);
        lifetime.StopApplication();
    }
}
