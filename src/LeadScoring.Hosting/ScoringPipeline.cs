using System.Threading.Channels;
using LeadScoring.Engine;
using LeadScoring.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LeadScoring.Hosting;

/// <summary>
/// The scoring pipeline. Sources and writers feed one bounded queue (back-pressure). One loop cuts the queue into
/// batches; each batch is routed by lead to N partitions (one engine each, applied in parallel), then the changed
/// leads, the message log, score history, dead letters, outbox notifications and every source's checkpoint are
/// committed in one store transaction; only then are handlers told (at least once: the outbox survives a crash).
/// The stage clock (<c>ScoringPipeline.Clock.cs</c>) commits the moves leads make in silence at its ticks.
/// <para>One file per job: this one holds the state and the lifecycle (start, load, stop);
/// <c>ScoringPipeline.Input.cs</c> the sources' pumps and the writer; <c>ScoringPipeline.BatchLoop.cs</c> the batch loop
/// and the commit chain; <c>ScoringPipeline.Routing.cs</c> the partition of each lead; <c>ScoringPipeline.Changes.cs</c>
/// change tracking (states, score history, notifications of a batch); <c>ScoringPipeline.Notifications.cs</c> delivery
/// to the handlers, outside every lock; <c>ScoringPipeline.Models.cs</c> model switching (re-scoring under the readers'
/// lock); <c>ScoringPipeline.Queries.cs</c> the reads; <c>ScoringPipeline.Clock.cs</c> the stage clock.</para>
/// </summary>
internal sealed partial class ScoringPipeline : ILeadMessageWriter, ILeadScoreReader, IAsyncDisposable
{
    private const string WriterSource = "writer";

    private readonly LeadScoringOptions _options;
    private readonly ILeadStore _store;
    private readonly IReadOnlyList<ILeadMessageSource> _sources;
    private readonly IReadOnlyList<IStageChangedHandler> _stageHandlers;
    private readonly IReadOnlyList<IScoreChangedHandler> _scoreHandlers;
    private readonly ModelProvider _models;
    private readonly ILogger<ScoringPipeline> _logger;
    private readonly LeadScoringMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly LeadScoringStartState _startState;
    private readonly LeadScoringStatus _status;
    private readonly Channel<Item> _queue;
    private readonly CancellationTokenSource _stopSources = new();
    private readonly Dictionary<string, int> _route = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Outcome> _outcomes = new(StringComparer.Ordinal);
    private readonly List<Task> _pumps = [];
    private readonly SemaphoreSlim _structure = new(1, 1);
    private Partition[] _partitions = [];
    private CompiledModel? _model;
    private CompiledModel? _pendingModel;
    private Task? _loop;

    // Issue 14 (hardening helper): the loop's task, so the hosted service can stop the host when it fails.
    internal Task Completion => _loop ?? Task.CompletedTask;

    public ScoringPipeline(
        IOptions<LeadScoringOptions> options, ILeadStore store, IEnumerable<ILeadMessageSource> sources,
        IEnumerable<IStageChangedHandler> stageHandlers, IEnumerable<IScoreChangedHandler> scoreHandlers,
        ModelProvider models, ILogger<ScoringPipeline> logger, LeadScoringMetrics metrics, TimeProvider time, LeadScoringStartState startState,
        LeadScoringStatus status)
    {
        _status = status;

        _options = options.Value;
        _store = store;
        _sources = [.. sources];
        _stageHandlers = [.. stageHandlers];
        _scoreHandlers = [.. scoreHandlers];
        _models = models;
        _logger = logger;
        _metrics = metrics;
        _time = time;
        _startState = startState;
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _status.QueueProbe = () => _queue.Reader.Count;
        // The message log as the replay history unless asked otherwise, or, by default, when a reorder horizon folds
        // messages (folding reads every message back once: from the log, a store read of its batch).
        _messageLog = (_options.KeepMessagesInMemory ?? _options.ReorderHorizon is not null) ? null : new MessageLogCache(store, _options.MessageLogCacheMessages);
        _status.HistoryLogReadsProbe = () => HistoryStoreReads;
    }

    /// <summary>The message log as the engines' replay history (null: they keep the messages in memory).</summary>
    private readonly MessageLogCache? _messageLog;

    /// <summary>Batches the replay history read back from the store since start (tests and diagnostics).</summary>
    internal long HistoryStoreReads => _messageLog?.StoreReads ?? 0;

    /// <summary>Messages the engines' log histories keep parsed, not by their place in the log (tests).</summary>
    internal long HistoryMessagesKeptParsed => _partitions.Sum(p => (long)(p.History?.ParsedCount ?? 0));

    /// <summary>Counted, committed messages since start (for tests and diagnostics).</summary>
    internal long Committed;

    /// <summary>Completed batches since start.</summary>
    internal long Batches;

    /// <summary>Whether nothing is waiting in the queue (for tests and diagnostics).</summary>
    internal bool QueueIsEmpty => _queue.Reader.Count == 0;

    /// <summary>A queued record (a struct: the queue and the batch hold them by value, no object per message).</summary>
    /// <summary>
    /// One entry of the queue: a message (or a rejected record) and the source record it came from (default for a
    /// message written by the host), whose checkpoint and location are read only where needed (a batch's last record
    /// per source, a rejected record).
    /// </summary>
    private readonly record struct Item(string Source, LeadMessage? Message, SourceRecord Record);

    private sealed class Partition(CompiledModel model, LeadScoringEngineOptions options, MessageLogHistory? history)
    {
        /// <summary>The engine's replay history when it is the message log (<see cref="LeadScoringOptions.KeepMessagesInMemory"/> false), else null.</summary>
        public readonly MessageLogHistory? History = history;
        public readonly LeadScoringEngine Engine = new(model, options, history);
        public readonly object Gate = new();
        public readonly List<LeadMessage> Batch = [];
        public readonly List<(LeadMessage Message, ApplyOutcome Outcome)> Applied = [];

        /// <summary>States of leads with several instants in the batch, exported before it was applied (<c>ScoringPipeline.Instants.cs</c>).</summary>
        public readonly Dictionary<string, LeadSnapshot> Before = new(StringComparer.Ordinal);

        /// <summary>Each lead id's first instant in the batch (scratch of <c>CaptureBefore</c>).</summary>
        public readonly Dictionary<string, long> FirstInstants = new(StringComparer.Ordinal);

        /// <summary>The engine's replays and merges before the batch was applied.</summary>
        public long WorkBefore;

        /// <summary>Change tracking's scratch: the changed leads' ids and latest outcomes, one batch at a time (<c>ScoringPipeline.Changes.cs</c>).</summary>
        public (LeadKey Key, Latest Latest)[] Evaluated = [];
    }

    // ------------------------------------------------------------------ lifecycle

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _store.InitializeAsync(cancellationToken).ConfigureAwait(false);
        _clockTicks = await _store.GetStageClockAsync(cancellationToken).ConfigureAwait(false) is { } clock ? clock.UtcTicks : null;
        var model = _models.Current;
        _startState.Started = true;
        string? stored = await _store.GetModelVersionAsync(cancellationToken).ConfigureAwait(false);
        if (stored is not null && stored != model.Model.Version && _options.RescoreOnModelChange)
        {
            _logger.LogInformation("Stored leads were scored with model version {Stored}; re-scoring them with {Version}.", stored, model.Model.Version);
            // The stored states belong to the old model's layout: compare against each lead's last recorded outcome. The
            // leads are those stored and those of the messages logged after the state checkpoint.
            var leads = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var snapshot in _store.LoadLeadsAsync(cancellationToken).ConfigureAwait(false))
            {
                leads.Add(snapshot.LeadId);
            }

            long position = await _store.GetStatePositionAsync(cancellationToken).ConfigureAwait(false);
            await foreach (var (_, messages) in _store.ReadLogAsync(position, cancellationToken).ConfigureAwait(false))
            {
                leads.UnionWith(messages.Select(m => m.LeadId));
            }

            foreach (var lead in leads)
            {
                var history = await _store.GetHistoryAsync(lead, cancellationToken).ConfigureAwait(false);
                if (history.Count > 0)
                {
                    // Stage moves as the history recorded them: consecutive entries whose stage differs.
                    var moves = history.Zip(history.Skip(1))
                        .Where(x => x.First.Stage is not null && x.Second.Stage is not null && x.First.Stage != x.Second.Stage)
                        .Select(x => new StageMove(x.First.Stage!, x.Second.Stage!, x.Second.At));
                    _outcomes[lead] = new Outcome(history[^1], [.. moves], history[0].At.UtcTicks);
                }
            }

            _model = model;
            _partitions = NewPartitions(model);
            await RescoreAsync(model, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            _model = model;
            _partitions = NewPartitions(model);
            await LoadAsync(cancellationToken).ConfigureAwait(false);
        }

        // Notifications committed before a crash but not delivered: deliver them now (at least once).
        var pending = await _store.LoadPendingNotificationsAsync(cancellationToken).ConfigureAwait(false);
        if (pending.Count > 0)
        {
            _logger.LogInformation("Delivering {Count} notification(s) left pending by the previous run.", pending.Count);
            await DeliverAsync(pending, cancellationToken).ConfigureAwait(false);
        }

        _models.Changed += m =>
        {
            Volatile.Write(ref _pendingModel, m);
            WakeClock();
        };

        // The ticks missed while the host was down, in order, before any new message.
        await CatchUpClockAsync(cancellationToken).ConfigureAwait(false);
        foreach (var source in _sources)
        {
            string? checkpoint = await _store.GetCheckpointAsync(source.Name, cancellationToken).ConfigureAwait(false);
            _status.SourceStarted();
            _pumps.Add(Task.Run(() => PumpAsync(source, checkpoint, _stopSources.Token), CancellationToken.None));
        }

        _loop = Task.Run(() => LoopAsync(), CancellationToken.None);
        _clockLoop = Task.Run(() => ClockLoopAsync(_stopClock.Token), CancellationToken.None);
        _status.Started = true;
        _logger.LogInformation("Lead scoring started: model {Name} {Version}, {Workers} worker(s), {Leads} lead(s), {Sources} source(s).",
            _model.Model.Name, _model.Model.Version, _partitions.Length, _partitions.Sum(p => p.Engine.LeadCount), _sources.Count);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Graceful drain: stop the clock and reading sources, then commit everything already queued.
        await StopClockAsync().ConfigureAwait(false);
        await _stopSources.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_pumps).WaitAsync(_options.DrainTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
        {
            _logger.LogWarning("Sources did not stop within the drain timeout.");
        }

        _queue.Writer.TryComplete();
        if (_loop is not null)
        {
            try
            {
                await _loop.WaitAsync(_options.DrainTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException)
            {
                _logger.LogWarning("The pipeline did not drain within {Timeout}; uncommitted messages will be read again from their sources.", _options.DrainTimeout);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stopSources.Dispose();
        _stopClock.Dispose();
        _structure.Dispose();
        _writer.Dispose();
        await ValueTask.CompletedTask.ConfigureAwait(false);
    }

    private Partition[] NewPartitions(CompiledModel model)
    {
        var engineOptions = new LeadScoringEngineOptions { ReorderHorizon = _options.ReorderHorizon };
        return [.. Enumerable.Range(0, _options.Workers).Select(_ => new Partition(model, engineOptions, _messageLog is null ? null : new MessageLogHistory(_messageLog)))];
    }

    private int Home(string id) => (int)((uint)StringComparer.Ordinal.GetHashCode(id) % (uint)_partitions.Length);
}
