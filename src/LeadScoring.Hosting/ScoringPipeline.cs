using System.Collections.Immutable;
using System.Diagnostics;
using System.Text.Json;
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
    }

    /// <summary>Counted, committed messages since start (for tests and diagnostics).</summary>
    internal long Committed;

    /// <summary>Completed batches since start.</summary>
    internal long Batches;

    /// <summary>Whether nothing is waiting in the queue (for tests and diagnostics).</summary>
    internal bool QueueIsEmpty => _queue.Reader.Count == 0;

    private sealed record Item(string Source, LeadMessage? Message, string? Error, string? Checkpoint, string? Location, string? Raw);

    /// <summary>
    /// A lead's outcome as last committed: what handler notifications and its next history entries are computed
    /// against; <paramref name="First"/>, the ticks of its first message (<see cref="long.MinValue"/>: before its reorder
    /// horizon, when loaded with a folded base state), says which of two merging leads came first.
    /// </summary>
    private sealed record Outcome(ScoreHistoryEntry Entry, HashSet<StageMove> Moves, long First);

    private sealed class Partition(CompiledModel model, LeadScoringEngineOptions options)
    {
        public readonly LeadScoringEngine Engine = new(model, options);
        public readonly object Gate = new();
        public readonly List<LeadMessage> Batch = [];
        public readonly List<(LeadMessage Message, ApplyOutcome Outcome)> Applied = [];
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
            // The stored states belong to the old model's layout: compare against each lead's last recorded outcome.
            await foreach (var snapshot in _store.LoadLeadsAsync(cancellationToken).ConfigureAwait(false))
            {
                var history = await _store.GetHistoryAsync(snapshot.LeadId, cancellationToken).ConfigureAwait(false);
                if (history.Count > 0)
                {
                    // Stage moves as the history recorded them: consecutive entries whose stage differs.
                    var moves = history.Zip(history.Skip(1))
                        .Where(x => x.First.Stage is not null && x.Second.Stage is not null && x.First.Stage != x.Second.Stage)
                        .Select(x => new StageMove(x.First.Stage!, x.Second.Stage!, x.Second.At));
                    _outcomes[snapshot.LeadId] = new Outcome(history[^1], [.. moves], history[0].At.UtcTicks);
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
        return [.. Enumerable.Range(0, _options.Workers).Select(_ => new Partition(model, engineOptions))];
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        var accounts = new List<LeadMessage>();
        await foreach (var m in _store.LoadAccountMessagesAsync(cancellationToken).ConfigureAwait(false))
        {
            accounts.Add(m);
        }

        foreach (var p in _partitions)
        {
            p.Engine.ImportAccountMessages(accounts);
        }

        await foreach (var snapshot in _store.LoadLeadsAsync(cancellationToken).ConfigureAwait(false))
        {
            int target = Home(snapshot.LeadId);
            _partitions[target].Engine.ImportLead(snapshot);
            foreach (var id in snapshot.Ids)
            {
                _route[id] = target;
            }

            if (_partitions[target].Engine.EvaluateLatest(snapshot.LeadId) is { } result)
            {
                long first = snapshot.BaseState is { IsEmpty: false } || snapshot.Journal.IsEmpty
                    ? long.MinValue : snapshot.Journal.Min(m => m.TimestampTicks);
                _outcomes[result.LeadId] = new Outcome(Entry(result, null), [.. ToldByClock(_partitions[target].Engine, result)], first);
            }
        }

        foreach (var p in _partitions)
        {
            p.Engine.TakeChanges();
        }
    }

    private int Home(string id) => (int)((uint)StringComparer.Ordinal.GetHashCode(id) % (uint)_partitions.Length);

    // ------------------------------------------------------------------ input

    private async Task PumpAsync(ILeadMessageSource source, string? checkpoint, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var record in source.ReadAsync(checkpoint, cancellationToken).ConfigureAwait(false))
            {
                var r = record.Result;
                var item = r.IsRejected
                    ? new Item(source.Name, null, r.Error, record.Checkpoint, record.Location, record.Raw)
                    : new Item(source.Name, r.Message, null, record.Checkpoint, record.Location, null);
                await _queue.Writer.WriteAsync(item, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Source {Source} failed; its messages after the last checkpoint will be read again on restart.", source.Name);
        }
        finally
        {
            _status.SourceStopped();
        }
    }

    public ValueTask WriteAsync(LeadMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return _queue.Writer.WriteAsync(new Item(WriterSource, message, null, null, null, null), cancellationToken);
    }

    // ------------------------------------------------------------------ the loop

    private async Task LoopAsync()
    {
        var reader = _queue.Reader;
        var batch = new List<Item>(_options.BatchSize);
        try
        {
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                batch.Clear();
                long deadline = _time.GetTimestamp() + (long)(_options.BatchDelay.TotalSeconds * _time.TimestampFrequency);
                while (batch.Count < _options.BatchSize)
                {
                    if (reader.TryRead(out var item))
                    {
                        batch.Add(item);
                        continue;
                    }

                    var wait = _time.GetElapsedTime(_time.GetTimestamp(), deadline);
                    if (wait <= TimeSpan.Zero || reader.Completion.IsCompleted)
                    {
                        break;
                    }

                    using var timeout = new CancellationTokenSource(wait);
                    try
                    {
                        if (!await reader.WaitToReadAsync(timeout.Token).ConfigureAwait(false))
                        {
                            break;
                        }
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }

                _status.Busy = true;
                _status.Queue(reader.Count);
                await _writer.WaitAsync().ConfigureAwait(false);
                try
                {
                    if (_committing.IsFaulted)
                    {
                        await _committing.ConfigureAwait(false);   // a commit failed: stop here
                    }

                    foreach (var part in SplitAtHorizon(batch))
                    {
                        await ProcessBatchAsync(part, CancellationToken.None).ConfigureAwait(false);
                    }

                    await ApplyPendingModelAsync().ConfigureAwait(false);
                    if (reader.Count == 0)
                    {
                        // Nothing more to apply while the last commit runs: wait for it, so that drained means committed.
                        await _committing.ConfigureAwait(false);
                    }
                }
                finally
                {
                    _writer.Release();
                }

                _status.Queue(reader.Count);
                _status.Busy = reader.Count > 0;
            }

            await _committing.ConfigureAwait(false);

            if (Interlocked.Exchange(ref _pendingModel, null) is { } last && last.Model.Version != _model!.Model.Version)
            {
                await RescoreAsync(last, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            _logger.LogCritical(ex, "The scoring pipeline stopped: a batch could not be committed. Nothing after the last committed checkpoint is lost; restart to resume.");
            throw;
        }
    }

    /// <summary>
    /// Issue 14, row 16: cuts a batch where the messages of one id would span more than the reorder horizon (a
    /// catch-up of an old backlog), so that the engine never folds a message of the batch into a lead's base state
    /// before the lead's history entries for it are written.
    /// </summary>
    private IEnumerable<List<Item>> SplitAtHorizon(List<Item> batch)
    {
        if (_options.ReorderHorizon is not { } horizon)
        {
            yield return batch;
            yield break;
        }

        var spans = new Dictionary<string, (long First, long Last)>(StringComparer.Ordinal);
        int start = 0;
        for (int i = 0; i < batch.Count; i++)
        {
            if (batch[i].Message is not { } m)
            {
                continue;
            }

            long t = m.TimestampTicks;
            bool fits = true;
            foreach (var id in (ReadOnlySpan<string?>)[m.UserId, m.AnonymousId, m.PreviousId])
            {
                fits &= id is null || !spans.TryGetValue(id, out var span) || Math.Max(span.Last, t) - Math.Min(span.First, t) <= horizon.Ticks;
            }

            if (!fits)
            {
                yield return batch.GetRange(start, i - start);
                start = i;
                spans.Clear();
            }

            HistoryChanges.Widen(spans, m);
        }

        yield return start == 0 ? batch : batch.GetRange(start, batch.Count - start);
    }

    /// <summary>Swaps in a model that changed since the last batch (re-scoring every lead). The caller holds <see cref="_writer"/>.</summary>
    private async Task ApplyPendingModelAsync()
    {
        var next = Interlocked.Exchange(ref _pendingModel, null);
        if (next is not null)
        {
            await _committing.ConfigureAwait(false);
        }

        if (next is not null && next.Model.Version != _model!.Model.Version)
        {
            await RescoreAsync(next, CancellationToken.None).ConfigureAwait(false);
        }
        else if (next is not null)
        {
            await SwapSameVersionAsync(next).ConfigureAwait(false);
        }
    }

    private async Task ProcessBatchAsync(List<Item> items, CancellationToken cancellationToken)
    {
        if (items.Count == 0)
        {
            return;
        }

        long started = _time.GetTimestamp();
        var deadLetters = new List<DeadLetter>();
        var checkpoints = new Dictionary<string, string>(StringComparer.Ordinal);
        var now = _time.GetUtcNow();
        await _structure.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var p in _partitions)
            {
                p.Batch.Clear();
                p.Applied.Clear();
            }

            // Route in arrival order; a message linking leads of two partitions moves them together first.
            foreach (var item in items)
            {
                if (item.Checkpoint is not null)
                {
                    checkpoints[item.Source] = item.Checkpoint;
                }

                if (item.Message is null)
                {
                    deadLetters.Add(new DeadLetter(item.Source, item.Location ?? "", item.Error ?? "unusable message", item.Raw, now));
                    continue;
                }

                _partitions[Route(item.Message)].Batch.Add(item.Message);
            }

            // Apply: one task per partition, each owning its engine.
            await Task.WhenAll(_partitions.Where(p => p.Batch.Count > 0).Select(p => Task.Run(() =>
            {
                lock (p.Gate)
                {
                    foreach (var m in p.Batch)
                    {
                        p.Applied.Add((m, p.Engine.Apply(m)));
                    }
                }
            }, cancellationToken))).ConfigureAwait(false);

            // Accounts are shared: every partition sees every counted group message (and replays members it affects).
            var groups = _partitions.SelectMany(p => p.Applied).Where(a => a.Message.Type == MessageType.Group && a.Outcome != ApplyOutcome.Duplicate).Select(a => a.Message).ToList();
            if (groups.Count > 0)
            {
                foreach (var p in _partitions)
                {
                    lock (p.Gate)
                    {
                        p.Engine.ImportAccountMessages(groups);
                    }
                }
            }

            var counted = new List<LeadMessage>();
            foreach (var p in _partitions)
            {
                foreach (var (m, outcome) in p.Applied)
                {
                    if (outcome == ApplyOutcome.Duplicate)
                    {
                        _metrics.Duplicates.Add(1);
                        continue;
                    }

                    counted.Add(m);
                    _metrics.Applied.Add(1);
                    if (outcome is ApplyOutcome.Reordered or ApplyOutcome.BeyondHorizon)
                    {
                        _metrics.Late.Add(1);
                    }
                }
            }

            var (snapshots, removed, history, notifications) = CollectChanges(rescore: false, counted);
            var store = new LeadStoreBatch
            {
                Leads = snapshots,
                RemovedLeads = removed,
                Messages = counted,
                AccountMessages = groups,
                History = history.Entries,
                HistoryRenamed = history.Renamed,
                HistoryReplacedFrom = history.ReplacedFrom,
                DeadLetters = deadLetters,
                Checkpoints = checkpoints,
                Notifications = notifications,
                ModelVersion = _model!.Model.Version,
            };

            // The commit runs while the next batch is applied; commits (and deliveries) keep their order.
            _committing = CommitAsync(_committing, store, counted.Count, deadLetters, started, cancellationToken);
        }
        finally
        {
            _structure.Release();
        }
    }

    /// <summary>
    /// The commit of the last batch applied, then the delivery of its notifications: the next batch is applied while it
    /// runs, and its own commit waits for it. Whoever else writes to the store (the stage clock, a re-scoring) or needs
    /// everything committed (drained, stopped) waits for it first, holding <see cref="_writer"/>.
    /// </summary>
    private Task _committing = Task.CompletedTask;

    private async Task CommitAsync(Task previous, LeadStoreBatch batch, int counted, List<DeadLetter> deadLetters, long started, CancellationToken cancellationToken)
    {
        await previous.ConfigureAwait(false);
        await _store.CommitAsync(batch, cancellationToken).ConfigureAwait(false);
        Interlocked.Add(ref Committed, counted);
        Interlocked.Increment(ref Batches);
        _status.Committed(counted, deadLetters.Count);
        _metrics.Rejected.Add(deadLetters.Count);
        foreach (var d in deadLetters)
        {
            _logger.LogWarning("Rejected {Location} from {Source}: {Reason}", d.Location, d.Source, d.Reason);
        }

        // Handlers run outside every lock: a slow handler delays the next commit (so notifications keep their order),
        // never a read.
        await DeliverAsync(batch.Notifications, cancellationToken).ConfigureAwait(false);
        _metrics.BatchDuration.Record(_time.GetElapsedTime(started).TotalMilliseconds);
    }

    /// <summary>The partition of a message's lead; moves leads so that ids linked by this message share one.</summary>
    private int Route(LeadMessage m)
    {
        Span<int> known = stackalloc int[3];
        string?[] ids = [m.UserId, m.AnonymousId, m.PreviousId];
        int target = -1;
        for (int i = 0; i < ids.Length; i++)
        {
            known[i] = ids[i] is { } id && _route.TryGetValue(id, out int p) ? p : -1;
            if (target < 0 && known[i] >= 0)
            {
                target = known[i];
            }
        }

        if (target < 0)
        {
            target = Home(m.LeadId);
        }

        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] is not { } id)
            {
                continue;
            }

            if (known[i] >= 0 && known[i] != target && _route[id] != target)
            {
                Move(id, _partitions[known[i]], target);
            }

            _route[id] = target;
        }

        return target;
    }

    /// <summary>
    /// Moves the lead known by <paramref name="id"/> from <paramref name="from"/> to partition <paramref name="target"/>:
    /// its applied state, and the messages of this batch already routed to <paramref name="from"/> for it (or for
    /// any id they link to it), in their order.
    /// </summary>
    private void Move(string id, Partition from, int target)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal) { id };
        var snapshot = from.Engine.ExportLead(id);
        if (snapshot is not null)
        {
            ids.UnionWith(snapshot.Ids);
            from.Engine.RemoveLead(id);
            _partitions[target].Engine.ImportLead(snapshot);
        }

        bool grew = true;
        var pending = from.Batch;
        var moving = new bool[pending.Count];
        while (grew)
        {
            grew = false;
            for (int j = 0; j < pending.Count; j++)
            {
                var m = pending[j];
                if (!moving[j] && (Has(ids, m.UserId) || Has(ids, m.AnonymousId) || Has(ids, m.PreviousId)))
                {
                    moving[j] = true;
                    grew |= Add(ids, m.UserId) | Add(ids, m.AnonymousId) | Add(ids, m.PreviousId);
                }
            }
        }

        var stay = new List<LeadMessage>(pending.Count);
        for (int j = 0; j < pending.Count; j++)
        {
            (moving[j] ? _partitions[target].Batch : stay).Add(pending[j]);
        }

        pending.Clear();
        pending.AddRange(stay);
        foreach (var moved in ids)
        {
            _route[moved] = target;
        }

        static bool Has(HashSet<string> set, string? value) => value is not null && set.Contains(value);

        static bool Add(HashSet<string> set, string? value) => value is not null && set.Add(value);
    }

    /// <summary>
    /// Exports the changed leads, works out their score history and what their handlers must be told.
    /// <paramref name="counted"/>: the batch's counted messages (null for a re-scoring).
    /// </summary>
    private (List<LeadSnapshot> Snapshots, List<string> Removed, HistoryChanges History, List<LeadNotification> Notifications) CollectChanges(
        bool rescore, IReadOnlyList<LeadMessage>? counted = null)
    {
        var snapshots = new List<LeadSnapshot>();
        var removed = new List<string>();
        var history = new HistoryChanges(counted ?? []);
        var notifications = new List<LeadNotification>();
        var taken = new LeadChanges[_partitions.Length];
        for (int i = 0; i < _partitions.Length; i++)
        {
            lock (_partitions[i].Gate)
            {
                taken[i] = _partitions[i].Engine.TakeChanges();
            }
        }

        // A lead moved between partitions is removed from one and changed in the other: it stays.
        HashSet<string>? stays = taken.Any(c => c.Removed.Count > 0) ? taken.SelectMany(c => c.Changed).ToHashSet(StringComparer.Ordinal) : null;
        for (int i = 0; i < _partitions.Length; i++)
        {
            var p = _partitions[i];
            lock (p.Gate)
            {
                var changes = taken[i];
                removed.AddRange(changes.Removed);
                foreach (var id in changes.Changed)
                {
                    var snapshot = p.Engine.ExportLeadState(id)!;
                    snapshots.Add(snapshot);
                    var result = p.Engine.EvaluateLatest(id)!;
                    if (!_outcomes.TryGetValue(id, out var previous))
                    {
                        foreach (var known in snapshot.Ids)
                        {
                            if (_outcomes.TryGetValue(known, out previous))
                            {
                                break;
                            }
                        }
                    }

                    var entry = Entry(result, rescore ? null : result.LatestMessageId);
                    var ids = IdsOf(snapshot);
                    long first = FirstOf(ids, history);
                    bool changed = previous is null || !SameOutcome(previous.Entry, entry);
                    if (!rescore)
                    {
                        AddHistory(p.Engine, snapshot, ids, result, history);
                    }
                    else if (changed)
                    {
                        history.Entries.Add(entry);
                    }

                    if (changed)
                    {
                        // Only what some handler listens to goes to the outbox.
                        if (_scoreHandlers.Count > 0)
                        {
                            var args = new ScoreChangedArguments(id, previous?.Entry, entry, entry.MessageId);
                            notifications.Add(Outgoing(args));
                        }
                    }

                    foreach (var move in result.StageHistory)
                    {
                        if (previous is null || !previous.Moves.Contains(move))
                        {
                            _metrics.StageTransitions.Add(1);
                            if (_stageHandlers.Count > 0)
                            {
                                var args = new StageChangedArguments(id, move.From, move.To, move.At, result.ModelVersion, rescore ? null : result.LatestMessageId);
                                notifications.Add(Outgoing(args));
                            }
                        }
                    }

                    foreach (var known in snapshot.Ids)
                    {
                        _outcomes.Remove(known);
                    }

                    // Every move told stays known (a move the stage clock told after the latest message, too): a later
                    // history that has it again does not tell it again. The set of moves is shared while it is unchanged.
                    _outcomes[id] = new Outcome(entry, KnownMoves(previous, result), first);
                }
            }
        }

        foreach (var gone in removed.Where(r => stays is null || !stays.Contains(r)))
        {
            _outcomes.Remove(gone);
        }

        return (snapshots, removed, history, notifications);
    }

    /// <summary>The stage moves known of a lead: those told before and those of its latest result (the earlier set when nothing is new).</summary>
    private static HashSet<StageMove> KnownMoves(Outcome? previous, LeadResult result)
    {
        if (previous is not null)
        {
            bool same = true;
            foreach (var move in result.StageHistory)
            {
                same &= previous.Moves.Contains(move);
            }

            if (same)
            {
                return previous.Moves;
            }
        }

        return [.. result.StageHistory, .. previous?.Moves ?? []];
    }

    /// <summary>Every id of a lead, its reported id included.</summary>
    private static ImmutableArray<string> IdsOf(LeadSnapshot snapshot) =>
        snapshot.Ids.Contains(snapshot.LeadId, StringComparer.Ordinal) ? snapshot.Ids : snapshot.Ids.Add(snapshot.LeadId);

    /// <summary>The ticks of a changed lead's first message: that of the leads it was, or of its messages in this batch.</summary>
    private long FirstOf(ImmutableArray<string> ids, HistoryChanges history)
    {
        long first = history.InstantsOf(ids).First;
        foreach (var id in ids)
        {
            if (_outcomes.TryGetValue(id, out var known))
            {
                first = Math.Min(first, known.First);
            }
        }

        return first;
    }

    /// <summary>What a batch writes to the score history, and the instants of its messages by lead id.</summary>
    private sealed class HistoryChanges
    {
        private readonly Dictionary<string, (long First, long Last)> _instants = new(StringComparer.Ordinal);

        public HistoryChanges(IReadOnlyList<LeadMessage> counted)
        {
            foreach (var m in counted)
            {
                if (m.Type == MessageType.Group)
                {
                    // An account change reaches every member from its instant on (spec 3.5).
                    FirstGroup = Math.Min(FirstGroup, m.TimestampTicks);
                }

                Widen(_instants, m);
            }
        }

        /// <summary>Widens the span of instants (ticks) of each id of <paramref name="m"/> to its timestamp.</summary>
        public static void Widen(Dictionary<string, (long First, long Last)> spans, LeadMessage m)
        {
            long t = m.TimestampTicks;
            foreach (var id in (ReadOnlySpan<string?>)[m.UserId, m.AnonymousId, m.PreviousId])
            {
                if (id is not null)
                {
                    spans[id] = spans.TryGetValue(id, out var span) ? (Math.Min(span.First, t), Math.Max(span.Last, t)) : (t, t);
                }
            }
        }

        public List<ScoreHistoryEntry> Entries { get; } = [];

        public Dictionary<string, string> Renamed { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, DateTimeOffset> ReplacedFrom { get; } = new(StringComparer.Ordinal);

        /// <summary>The earliest counted group message of the batch (ticks), or <see cref="long.MaxValue"/>.</summary>
        public long FirstGroup { get; private set; } = long.MaxValue;

        /// <summary>The first and last instants (ticks) of the batch's messages for any of <paramref name="ids"/>.</summary>
        public (long First, long Last) InstantsOf(ImmutableArray<string> ids)
        {
            (long First, long Last) all = (long.MaxValue, long.MinValue);
            foreach (var id in ids)
            {
                if (_instants.TryGetValue(id, out var span))
                {
                    all = (Math.Min(all.First, span.First), Math.Max(all.Last, span.Last));
                }
            }

            return all;
        }
    }

    /// <summary>
    /// Issue 14, row 16: the score history is one entry per lead and per change of outcome at its message instants, so
    /// the same messages give the same entries however they were batched. A lead's entries from the earliest instant the
    /// batch can have changed are worked out again: its first new message, the batch's first account change, or, when
    /// leads merge, the first message of the second of them to start. Messages in order append (one evaluation when the
    /// lead has one new instant, else one replay of the lead); a late message or a merge rewrites the entries from that
    /// instant on. A lead now reported under another id takes the old id's entries; of merging leads, the first to
    /// start keeps its entries (before the second one started) and the others lose theirs.
    /// </summary>
    private void AddHistory(LeadScoringEngine engine, LeadSnapshot snapshot, ImmutableArray<string> ids, LeadResult latest, HistoryChanges history)
    {
        string lead = snapshot.LeadId;
        // The leads this one was reported as after the last batch, the first to start first: itself, another id
        // (renamed), several (merged). Before the second one starts, the merged lead is the first one.
        List<string> earlier = ids.Length == 1
            ? (_outcomes.ContainsKey(ids[0]) ? [ids[0]] : [])
            : ids.Where(_outcomes.ContainsKey).OrderBy(e => _outcomes[e].First).ThenBy(e => e, StringComparer.Ordinal).ToList();
        var (first, last) = history.InstantsOf(ids);
        long from = Math.Min(first, history.FirstGroup);
        if (earlier.Count > 1)
        {
            from = Math.Min(from, _outcomes[earlier[1]].First);
        }

        if (earlier.Count > 0 && earlier[0] != lead)
        {
            history.Renamed[earlier[0]] = lead;
        }

        for (int i = 1; i < earlier.Count; i++)
        {
            if (earlier[i] != lead)
            {
                history.ReplacedFrom[earlier[i]] = DateTimeOffset.MinValue;
            }
        }

        long previousAt = earlier.Count == 1 ? _outcomes[earlier[0]].Entry.At.UtcTicks : long.MaxValue;
        bool append = from > previousAt;   // nothing at or before the lead's latest committed instant changed

        long latestAt = latest.AsOf.UtcTicks;
        if (append && from > latestAt)
        {
            return;   // none of its instants changed (moved between partitions, an account change after its latest message)
        }

        from = from == long.MaxValue ? 0 : Math.Max(from, 0);   // nothing known of what changed: every kept instant
        ScoreHistoryEntry? before;
        IReadOnlyList<LeadResult> steps;

        if (append && first == last && last == latestAt)
        {
            // The common case: the lead's one new instant is its latest.
            before = _outcomes[earlier[0]].Entry;
            steps = [latest];
        }
        else
        {
            steps = engine.EvaluateMessageInstants(lead, new DateTimeOffset(from, TimeSpan.Zero), out var previous);
            before = previous is null ? null : Entry(previous, previous.LatestMessageId);
            if (!append)
            {
                // Entries up to the instant compared with (the latest before, or the base state's) stay.
                long cut = previous is null ? from : Math.Max(from, previous.AsOf.UtcTicks + 1);
                history.ReplacedFrom[lead] = new DateTimeOffset(cut, TimeSpan.Zero);
            }
        }

        foreach (var step in steps)
        {
            var entry = Entry(step, step.LatestMessageId);
            if (before is null || !SameOutcome(before, entry))
            {
                history.Entries.Add(entry);
                before = entry;
            }
        }
    }

    private static ScoreHistoryEntry Entry(LeadResult r, string? messageId)
    {
        var scores = new KeyValuePair<string, double>[r.ScoreNames.Length];
        for (int i = 0; i < scores.Length; i++)
        {
            scores[i] = new KeyValuePair<string, double>(r.ScoreNames[i], r.ValueAt(i));
        }

        return new(r.LeadId, r.AsOf, scores, r.Grade, r.Stage, r.ModelVersion, messageId);
    }

    private static bool SameOutcome(ScoreHistoryEntry a, ScoreHistoryEntry b)
    {
        if (a.Grade != b.Grade || a.Stage != b.Stage || a.Scores.Count != b.Scores.Count)
        {
            return false;
        }

        for (int i = 0; i < a.Scores.Count; i++)
        {
            if (a.Scores[i].Key != b.Scores[i].Key || !a.Scores[i].Value.Equals(b.Scores[i].Value))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The arguments of the notifications made in this process and not yet delivered, by key: delivery after the commit
    /// hands these objects to the handlers instead of parsing back the JSON written for the outbox. Notifications left
    /// pending by an earlier run are parsed from the outbox.
    /// </summary>
    private readonly Dictionary<string, object> _unsent = new(StringComparer.Ordinal);

    /// <summary>How many notifications were delivered from their outbox JSON (left pending by an earlier run).</summary>
    internal long NotificationsParsed;

    private LeadNotification Outgoing(ScoreChangedArguments args)
    {
        lock (_unsent)
        {
            _unsent[args.IdempotencyKey] = args;
        }

        return new LeadNotification(args.IdempotencyKey, LeadNotificationKind.ScoreChanged, args.LeadId, NotificationJson.Write(args));
    }

    private LeadNotification Outgoing(StageChangedArguments args)
    {
        lock (_unsent)
        {
            _unsent[args.IdempotencyKey] = args;
        }

        return new LeadNotification(args.IdempotencyKey, LeadNotificationKind.StageChanged, args.LeadId, NotificationJson.Write(args));
    }

    private T Arguments<T>(LeadNotification n, Func<string, T> parse)
    {
        lock (_unsent)
        {
            if (_unsent.Remove(n.Key, out var kept) && kept is T args)
            {
                return args;
            }
        }

        Interlocked.Increment(ref NotificationsParsed);
        return parse(n.Payload);
    }

    private async Task DeliverAsync(IReadOnlyList<LeadNotification> notifications, CancellationToken cancellationToken)
    {
        if (notifications.Count == 0)
        {
            return;
        }

        var delivered = new List<string>(notifications.Count);
        foreach (var n in notifications)
        {
            try
            {
                if (n.Kind == LeadNotificationKind.StageChanged)
                {
                    var args = Arguments(n, NotificationJson.ReadStage);
                    foreach (var h in _stageHandlers)
                    {
                        await h.OnStageChangedAsync(args, cancellationToken).ConfigureAwait(false);
                    }
                }
                else
                {
                    var args = Arguments(n, NotificationJson.ReadScore);
                    foreach (var h in _scoreHandlers)
                    {
                        await h.OnScoreChangedAsync(args, cancellationToken).ConfigureAwait(false);
                    }
                }

                delivered.Add(n.Key);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Left in the outbox: delivered again on the next start.
                _logger.LogError(ex, "A handler failed for notification {Kind}; it stays in the outbox and is delivered again on restart.", n.Kind);
            }
        }

        await _store.AcknowledgeNotificationsAsync(delivered, cancellationToken).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ model changes

    private async Task SwapSameVersionAsync(CompiledModel next)
    {
        _logger.LogWarning("The model changed but kept version {Version}; re-scoring anyway. Give every change a new version so handlers and history can tell them apart.", next.Model.Version);
        await RescoreAsync(next, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Re-scores every stored lead from the message log under <paramref name="next"/>; handlers hear only of changed outcomes.</summary>
    private async Task RescoreAsync(CompiledModel next, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        _logger.LogInformation("Re-scoring every lead with model {Name} {Version}.", next.Model.Name, next.Model.Version);
        // Under the readers' lock from the swap to the commit: a read sees the old engines or the new, complete ones.
        IReadOnlyList<LeadNotification> notifications;
        await _structure.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var previousPartitions = _partitions;
            var previousRoute = new Dictionary<string, int>(_route, StringComparer.Ordinal);
            _partitions = NewPartitions(next);
            _route.Clear();
            long count = 0;
            await foreach (var m in _store.LoadMessagesAsync(cancellationToken).ConfigureAwait(false))
            {
                var p = _partitions[Route(m)];
                p.Engine.Apply(m);
                if (m.Type == MessageType.Group)
                {
                    foreach (var other in _partitions)
                    {
                        if (!ReferenceEquals(other, p))
                        {
                            other.Engine.ImportAccountMessages([m]);
                        }
                    }
                }

                if (++count % 100_000 == 0)
                {
                    _logger.LogInformation("Re-scoring: {Count} messages replayed.", count);
                }
            }

            try
            {
                _model = next;
                (var snapshots, _, var history, notifications) = CollectChanges(rescore: true);
                await _store.CommitAsync(new LeadStoreBatch
                {
                    Leads = snapshots,
                    ReplaceAllLeads = true,
                    History = history.Entries,
                    Notifications = notifications,
                    ModelVersion = next.Model.Version,
                }, cancellationToken).ConfigureAwait(false);
                _metrics.Rescored.Add(snapshots.Count);
                _logger.LogInformation("Re-scored {Leads} leads from {Messages} messages with model {Version} in {Elapsed} ms; {Changed} outcome(s) changed.",
                    snapshots.Count, count, next.Model.Version, clock.ElapsedMilliseconds, history.Entries.Count);
            }
            catch
            {
                _partitions = previousPartitions;
                _route.Clear();
                foreach (var (k, v) in previousRoute)
                {
                    _route[k] = v;
                }

                throw;
            }
        }
        finally
        {
            _structure.Release();
        }

        await DeliverAsync(notifications, cancellationToken).ConfigureAwait(false);
    }

    // ------------------------------------------------------------------ reads

    public async ValueTask<LeadResult?> GetLeadAsync(string leadId, DateTimeOffset? asOf = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        await _structure.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_route.TryGetValue(leadId, out int p))
            {
                return null;
            }

            lock (_partitions[p].Gate)
            {
                return _partitions[p].Engine.Evaluate(leadId, asOf ?? _time.GetUtcNow(), explain: true);
            }
        }
        finally
        {
            _structure.Release();
        }
    }

    public async ValueTask<IReadOnlyList<LeadResult>> TopAsync(string score, int count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(score);
        var all = await EvaluateAllAsync(cancellationToken).ConfigureAwait(false);
        int index = _model!.ScoreNames.IndexOf(score);
        if (index < 0)
        {
            throw new ArgumentException($"The model has no score '{score}'.", nameof(score));
        }

        return all.OrderByDescending(r => r.ValueAt(index)).ThenBy(r => r.LeadId, StringComparer.Ordinal).Take(count).ToList();
    }

    public async ValueTask<IReadOnlyList<LeadResult>> InStageAsync(string stage, int count, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stage);
        var all = await EvaluateAllAsync(cancellationToken).ConfigureAwait(false);
        return all.Where(r => string.Equals(r.Stage, stage, StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(r => r.ScoreNames.Length > 0 ? r.ValueAt(0) : 0).ThenBy(r => r.LeadId, StringComparer.Ordinal)
            .Take(count).ToList();
    }

    public ValueTask<IReadOnlyList<ScoreHistoryEntry>> GetHistoryAsync(string leadId, CancellationToken cancellationToken = default) =>
        _store.GetHistoryAsync(leadId, cancellationToken);

    private async Task<List<LeadResult>> EvaluateAllAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var results = new List<LeadResult>();
        await _structure.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var p in _partitions)
            {
                lock (p.Gate)
                {
                    results.AddRange(p.Engine.EvaluateAll(now));
                }
            }
        }
        finally
        {
            _structure.Release();
        }

        return results;
    }
}

/// <summary>Notification arguments as JSON for the outbox.</summary>
internal static class NotificationJson
{
    public static string Write(StageChangedArguments a) => JsonSerializer.Serialize(new StageDto(a.LeadId, a.From, a.To, a.At, a.ModelVersion, a.MessageId));

    public static StageChangedArguments ReadStage(string json)
    {
        var d = JsonSerializer.Deserialize<StageDto>(json)!;
        return new StageChangedArguments(d.LeadId, d.From, d.To, d.At, d.ModelVersion, d.MessageId);
    }

    public static string Write(ScoreChangedArguments a) => JsonSerializer.Serialize(new ScoreDto(a.LeadId, Dto(a.Previous), Dto(a.Current)!, a.MessageId));

    public static ScoreChangedArguments ReadScore(string json)
    {
        var d = JsonSerializer.Deserialize<ScoreDto>(json)!;
        return new ScoreChangedArguments(d.LeadId, Entry(d.Previous), Entry(d.Current)!, d.MessageId);
    }

    private static EntryDto? Dto(ScoreHistoryEntry? e) =>
        e is null ? null : new EntryDto(e.LeadId, e.At, e.Scores.Select(s => s.Key).ToArray(), e.Scores.Select(s => s.Value).ToArray(), e.Grade, e.Stage, e.ModelVersion, e.MessageId);

    private static ScoreHistoryEntry? Entry(EntryDto? d) =>
        d is null ? null : new ScoreHistoryEntry(d.LeadId, d.At, [.. d.Names.Zip(d.Values, (n, v) => new KeyValuePair<string, double>(n, v))], d.Grade, d.Stage, d.ModelVersion, d.MessageId);

    private sealed record StageDto(string LeadId, string From, string To, DateTimeOffset At, string ModelVersion, string? MessageId);

    private sealed record ScoreDto(string LeadId, EntryDto? Previous, EntryDto Current, string? MessageId);

    private sealed record EntryDto(string LeadId, DateTimeOffset At, string[] Names, double[] Values, string? Grade, string? Stage, string ModelVersion, string? MessageId);
}

