using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace LeadScoring.Hosting;

/// <summary>Returned by <c>AddLeadScoring</c>: chains the store, sources and handlers. Every method is idempotent.</summary>
public sealed class LeadScoringBuilder
{
    internal LeadScoringBuilder(IServiceCollection services) => Services = services;

    /// <summary>The service collection being configured.</summary>
    public IServiceCollection Services { get; }

    /// <summary>Uses <paramref name="factory"/>'s store instead of the in-memory one (a store package calls this).</summary>
    public LeadScoringBuilder UseStore(Func<IServiceProvider, ILeadStore> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Services.Replace(ServiceDescriptor.Singleton(factory));
        return this;
    }

    /// <summary>Adds a message source the pipeline reads (once per type).</summary>
    public LeadScoringBuilder AddSource<TSource>()
        where TSource : class, ILeadMessageSource
    {
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<ILeadMessageSource, TSource>());
        return this;
    }

    /// <summary>Adds a message source instance.</summary>
    public LeadScoringBuilder AddSource(ILeadMessageSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        // One registration per source name: adding the same folder twice reads it once.
        if (!Services.Any(d => d.ServiceType == typeof(ILeadMessageSource) && d.ImplementationInstance is ILeadMessageSource s && s.Name == source.Name))
        {
            Services.AddSingleton(source);
        }

        return this;
    }

    /// <summary>Adds a source that reads (and follows) JSON Lines files in a folder.</summary>
    public LeadScoringBuilder AddJsonLinesFolder(string folder, Action<JsonLinesFolderSourceOptions>? configure = null)
    {
        var options = new JsonLinesFolderSourceOptions { Folder = folder };
        configure?.Invoke(options);
        return AddSource(new JsonLinesFolderSource(options));
    }

    /// <summary>Adds a handler told of stage moves (once per type).</summary>
    public LeadScoringBuilder AddStageChangedHandler<THandler>()
        where THandler : class, IStageChangedHandler
    {
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IStageChangedHandler, THandler>());
        return this;
    }

    /// <summary>Adds a handler told of score changes (once per type).</summary>
    public LeadScoringBuilder AddScoreChangedHandler<THandler>()
        where THandler : class, IScoreChangedHandler
    {
        Services.TryAddEnumerable(ServiceDescriptor.Singleton<IScoreChangedHandler, THandler>());
        return this;
    }
}
