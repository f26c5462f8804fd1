using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

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
        var source = new JsonLinesFolderSource(options);
        // One registration per source name: adding the same folder twice reads it once. Built by the container, so
        // that it logs what it skips or waits for.
        if (!Services.Any(d => d.ServiceType == typeof(FolderSourceName) && d.ImplementationInstance is FolderSourceName n && n.Name == source.Name))
        {
            Services.AddSingleton(new FolderSourceName(source.Name));
            Services.AddSingleton<ILeadMessageSource>(sp => new JsonLinesFolderSource(
                options, sp.GetService<TimeProvider>(), sp.GetService<ILoggerFactory>()?.CreateLogger<JsonLinesFolderSource>()));
        }

        return this;
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

/// <summary>Marks a folder source as registered (by its name).</summary>
internal sealed record FolderSourceName(string Name);
