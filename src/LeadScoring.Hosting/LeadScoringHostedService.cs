using Microsoft.Extensions.Hosting;

namespace LeadScoring.Hosting;

/// <summary>Runs the scoring pipeline with the host: starts it (after options validation) and drains it on shutdown.</summary>
internal sealed class LeadScoringHostedService(ScoringPipeline pipeline) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => pipeline.StartAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => pipeline.StopAsync(cancellationToken);
}
