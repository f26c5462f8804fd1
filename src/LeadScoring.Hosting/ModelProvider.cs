using LeadScoring.Engine;
using LeadScoring.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace LeadScoring.Hosting;

/// <summary>
/// Holds the compiled model. On an options change (a new configuration, or the model file changed on disk, which
/// <see cref="ModelFileChangeTokenSource"/> signals through <see cref="IOptionsMonitor{TOptions}"/>) it loads and
/// validates the new model and swaps it in atomically; an invalid model is refused, its errors logged, and the
/// old one keeps scoring.
/// </summary>
internal sealed class ModelProvider : IDisposable
{
    private readonly ILogger<ModelProvider> _logger;
    private readonly IDisposable? _subscription;
    private CompiledModel? _current;

    public ModelProvider(IOptionsMonitor<LeadScoringOptions> options, ILogger<ModelProvider> logger)
    {
        _logger = logger;
        _subscription = options.OnChange(o => Reload(o));
        Options = options;
    }

    private IOptionsMonitor<LeadScoringOptions> Options { get; }

    /// <summary>Raised after a new model was swapped in.</summary>
    public event Action<CompiledModel>? Changed;

    /// <summary>The model scoring now. The first read loads it (options were validated on start).</summary>
    public CompiledModel Current
    {
        get
        {
            if (Volatile.Read(ref _current) is { } model)
            {
                return model;
            }

            var loaded = Load(Options.CurrentValue, out var errors) ?? throw new OptionsValidationException(
                Microsoft.Extensions.Options.Options.DefaultName, typeof(LeadScoringOptions), errors);
            Interlocked.CompareExchange(ref _current, loaded, null);
            return _current!;
        }
    }

    internal static CompiledModel? Load(LeadScoringOptions options, out List<string> errors)
    {
        errors = [];
        ModelLoadResult result;
        string source;
        if (options.Model is { } model)
        {
            return CompiledModel.Compile(model);
        }

        if (options.ModelPath is { } path)
        {
            source = Path.GetFileName(path);
            try
            {
                result = ScoringModelLoader.LoadFile(path);
            }
            catch (IOException ex)
            {
                errors.Add($"{path}: {ex.Message}");
                return null;
            }
            catch (UnauthorizedAccessException ex)
            {
                errors.Add($"{path}: {ex.Message}");
                return null;
            }
        }
        else if (options.ModelJson is { } json)
        {
            source = "ModelJson";
            result = ScoringModelLoader.Load(json);
        }
        else
        {
            errors.Add("no model: set ModelPath, ModelJson or Model");
            return null;
        }

        if (!result.IsValid)
        {
            errors.AddRange(result.Errors.Select(e => e.ToString(source)));
            return null;
        }

        return CompiledModel.Compile(result.Model!);
    }

    private void Reload(LeadScoringOptions options)
    {
        var model = Load(options, out var errors);
        if (model is null)
        {
            _logger.LogError("The changed scoring model was refused with {Count} error(s); the current model keeps scoring:{NewLine}{Errors}",
                errors.Count, Environment.NewLine, string.Join(Environment.NewLine, errors));
            return;
        }

        var old = Volatile.Read(ref _current);
        if (old is not null && old.Model.ToJson() == model.Model.ToJson())
        {
            return;
        }

        Volatile.Write(ref _current, model);
        _logger.LogInformation("Scoring model {Name} {Version} loaded (was {OldVersion}).", model.Model.Name, model.Model.Version, old?.Model.Version ?? "none");
        Changed?.Invoke(model);
    }

    public void Dispose() => _subscription?.Dispose();
}

/// <summary>Signals an options change when the model file changes, so <see cref="IOptionsMonitor{TOptions}"/> reloads.</summary>
internal sealed class ModelFileChangeTokenSource : IOptionsChangeTokenSource<LeadScoringOptions>, IDisposable
{
    private readonly FileSystemWatcher? _watcher;
    private readonly object _gate = new();
    private CancellationTokenSource _cts = new();
    private Timer? _debounce;

    public ModelFileChangeTokenSource(IOptionsFactory<LeadScoringOptions> factory)
    {
        string? path;
        try
        {
            path = factory.Create(Microsoft.Extensions.Options.Options.DefaultName).ModelPath;
        }
        catch (OptionsValidationException)
        {
            // Invalid options fail at start with every error; nothing to watch.
            path = null;
        }

        if (path is null)
        {
            return;
        }

        string full = Path.GetFullPath(path);
        if (Path.GetDirectoryName(full) is not { } dir || !Directory.Exists(dir))
        {
            return;
        }

        _watcher = new FileSystemWatcher(dir, Path.GetFileName(full))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.FileName | NotifyFilters.CreationTime,
        };
        _watcher.Changed += (_, _) => Signal();
        _watcher.Created += (_, _) => Signal();
        _watcher.Renamed += (_, _) => Signal();
        // The watcher sees every file of the folder (on Linux one inotify watch per folder, filtered in process): in a
        // folder that also holds a busy database its event queue can overflow, and the lost events may include the
        // model's own. Reload then: an unchanged model is left as it is (Reload compares the documents).
        _watcher.Error += (_, _) => Signal();
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>The folder watcher, when the model comes from a file (tests).</summary>
    internal FileSystemWatcher? Watcher => _watcher;

    public string Name => Microsoft.Extensions.Options.Options.DefaultName;

    public IChangeToken GetChangeToken()
    {
        lock (_gate)
        {
            return new CancellationChangeToken(_cts.Token);
        }
    }

    private void Signal()
    {
        // Editors write a file in several steps: wait until it has been quiet for a moment.
        lock (_gate)
        {
            _debounce ??= new Timer(_ => Fire(), null, Timeout.Infinite, Timeout.Infinite);
            _debounce.Change(200, Timeout.Infinite);
        }
    }

    private void Fire()
    {
        CancellationTokenSource previous;
        lock (_gate)
        {
            previous = _cts;
            _cts = new CancellationTokenSource();
        }

        previous.Cancel();
        previous.Dispose();
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _debounce?.Dispose();
        _cts.Dispose();
    }
}
