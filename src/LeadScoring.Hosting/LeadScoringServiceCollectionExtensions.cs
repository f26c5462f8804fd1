using LeadScoring.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers LeadScoring in a Microsoft.Extensions host.</summary>
public static class LeadScoringServiceCollectionExtensions
{
    /// <summary>Adds LeadScoring with options bound elsewhere (e.g. <c>services.Configure&lt;LeadScoringOptions&gt;(...)</c>).</summary>
    public static LeadScoringBuilder AddLeadScoring(this IServiceCollection services) => services.AddLeadScoring(static _ => { });

    /// <summary>Adds LeadScoring, configuring its options in code. Calling it again adds nothing twice.</summary>
    public static LeadScoringBuilder AddLeadScoring(this IServiceCollection services, Action<LeadScoringOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure(configure);
        return AddCore(services);
    }

    /// <summary>Adds LeadScoring, binding its options from a configuration section (e.g. <c>LeadScoring</c>: <c>ModelPath</c>, <c>Workers</c>...).</summary>
    public static LeadScoringBuilder AddLeadScoring(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.Configure<LeadScoringOptions>(configuration);
        return AddCore(services);
    }

    private static LeadScoringBuilder AddCore(IServiceCollection services)
    {
        services.AddOptions<LeadScoringOptions>().ValidateOnStart();
        services.TryAddSingleton<LeadScoringStartState>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LeadScoringOptions>, LeadScoringOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IOptionsChangeTokenSource<LeadScoringOptions>, ModelFileChangeTokenSource>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<LeadScoringMetrics>();
        services.TryAddSingleton<LeadScoringStatus>();
        services.TryAddSingleton<ModelProvider>();
        services.TryAddSingleton<ILeadStore, InMemoryLeadStore>();
        services.TryAddSingleton<ScoringPipeline>();
        services.TryAddSingleton<ILeadMessageWriter>(static sp => sp.GetRequiredService<ScoringPipeline>());
        services.TryAddSingleton<ILeadScoreReader>(static sp => sp.GetRequiredService<ScoringPipeline>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LeadScoringHostedService>());
        return new LeadScoringBuilder(services);
    }
}
