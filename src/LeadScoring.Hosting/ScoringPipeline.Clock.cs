using LeadScoring.Engine;
using Microsoft.Extensions.Logging;

namespace LeadScoring.Hosting;

/// <summary>
/// The stage clock (spec 3.4, the model's <c>stageCheckHours</c>): at each tick, driven by the host's
/// <see cref="TimeProvider"/>, the leads whose stage moves with no message arriving are taken from each partition's
/// timer queue (<see cref="LeadScoringEngine.TakeDueLeads"/>: only the leads due are evaluated), their moves are
/// committed with the score history, the outbox notifications and the tick itself in one store transaction, and then
/// the handlers are told, outside every lock. Ticks missed while the host was down are caught up in order on start.
/// </summary>
internal sealed partial class ScoringPipeline
{
    /// <summary>1970-01-01T00:00:00Z in ticks: the clock's origin (spec 3.4).</summary>
    private const long EpochTicks = 621_355_968_000_000_000;

    /// <summary>How far the clock may move while the clock loop plans its wait before it plans again.</summary>
    private static readonly TimeSpan PlanningSlack = TimeSpan.FromSeconds(1);

    /// <summary>The longest single wait: <see cref="Task.Delay(TimeSpan, TimeProvider, CancellationToken)"/> takes at most ~49 days.</summary>
    private static readonly TimeSpan MaxWait = TimeSpan.FromDays(1);

    /// <summary>One writer at a time: a batch (with the model change after it) or a run of the clock.</summary>
    private readonly SemaphoreSlim _writer = new(1, 1);
    private readonly CancellationTokenSource _stopClock = new();
    private Task? _clockLoop;

    /// <summary>Cancelled to make the clock plan again (the model changed).</summary>
    private CancellationTokenSource? _clockWait;

    /// <summary>The last tick processed (in memory), and the last one committed; null before the first.</summary>
    private long? _clockTicks;
    private long? _storedClockTicks;

    /// <summary>The model's tick in ticks of time; 0 when it has no clock (off, or fewer than two stages).</summary>
    private static long PeriodOf(CompiledModel model) =>
        model.Model.Stages.Length > 1 ? model.Model.EffectiveStageCheckHours * TimeSpan.TicksPerHour : 0;

    private static long FloorTick(long ticks, long period) => EpochTicks + (Math.DivRem(ticks - EpochTicks, period, out long rest) - (rest < 0 ? 1 : 0)) * period;

    /// <summary>The next tick to process, under the model in force at it (a model waiting to be swapped in counts); null while there is no clock.</summary>
    private DateTimeOffset? NextClockTick(DateTimeOffset now)
    {
        long period = PeriodOf(Volatile.Read(ref _pendingModel) ?? _model!);
        if (period == 0)
        {
            return null;
        }

        // The first run of a store: the clock starts at the current tick (there is nothing before it to catch up).
        long from = _clockTicks ?? FloorTick(now.UtcTicks, period) - 1;
        return new DateTimeOffset(FloorTick(from, period) + period, TimeSpan.Zero);
    }

    private void WakeClock()
    {
        try
        {
            Volatile.Read(ref _clockWait)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // That wait is over already.
        }
    }

    /// <summary>On start: every tick missed while the host was down, in order, before sources resume.</summary>
    private async Task CatchUpClockAsync(CancellationToken cancellationToken)
    {
        if (_clockTicks is { } stored)
        {
            _storedClockTicks = stored;
            _status.ClockAt(new DateTimeOffset(stored, TimeSpan.Zero));
        }
        else if (PeriodOf(_model!) is > 0 and var period)
        {
            // A store the clock never ran on (new, or written before the clock): it starts at the current tick. Moves
            // its leads made in silence before it are found at the next tick and told then, late rather than never.
            _clockTicks = FloorTick(_time.GetUtcNow().UtcTicks, period);
            return;
        }

        var (told, last) = await RunClockAsync(cancellationToken).ConfigureAwait(false);
        if (told > 0)
        {
            _logger.LogInformation("Stage clock: caught up to {Tick:O}; {Count} stage move(s) made in silence while the host was down were committed and told.", last, told);
        }
    }

    /// <summary>Sleeps until the next tick, then runs the clock; plans again when the model changes. A store failure stops the pipeline.</summary>
    private async Task ClockLoopAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stop);
                Volatile.Write(ref _clockWait, wait);
                var now = _time.GetUtcNow();
                var next = NextClockTick(now);
                if (next is null || next > now)
                {
                    var delay = next is { } at && at - now < MaxWait ? at - now : MaxWait;
                    try
                    {
                        var sleep = Task.Delay(delay, _time, wait.Token);
                        if (_time.GetUtcNow() - now > PlanningSlack)
                        {
                            // The clock moved on while this wait was planned (a jump of a test's fake time, a suspended
                            // machine): the wait may now end after the tick. Plan again from the new time.
                            wait.Cancel();
                        }

                        await sleep.ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!stop.IsCancellationRequested)
                    {
                        // The model changed, or the clock moved while the wait was planned: plan again.
                    }

                    continue;
                }

                var (told, last) = await RunClockAsync(stop).ConfigureAwait(false);
                if (told > 0)
                {
                    _logger.LogInformation("Stage clock at {Tick:O}: {Count} stage move(s) made in silence were committed and told.", last, told);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            // Like a batch that cannot be committed: stop the pipeline (the host stops; a supervisor restarts it, and
            // the ticks after the last committed one are caught up then).
            _logger.LogCritical(ex, "The stage clock stopped: its moves could not be committed.");
            _queue.Writer.TryComplete(ex);
        }
        finally
        {
            Volatile.Write(ref _clockWait, null);
        }
    }

    private async Task StopClockAsync()
    {
        await _stopClock.CancelAsync().ConfigureAwait(false);
        if (_clockLoop is not null)
        {
            await _clockLoop.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Processes every tick from the last one processed up to now, in order (one store transaction per tick with moves,
    /// the tick itself committed with them), then tells the handlers, in the same order, outside every lock.
    /// </summary>
    /// <returns>How many moves were told, and the last tick processed.</returns>
    private async Task<(int Told, DateTimeOffset? Last)> RunClockAsync(CancellationToken cancellationToken)
    {
        var notifications = new List<LeadNotification>();
        int told = 0;
        await _writer.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The batch committing now goes first: ticks are committed after the messages applied before them.
            await _committing.ConfigureAwait(false);
            // A model reload takes effect from the next tick, even when no message brings a batch.
            await ApplyPendingModelAsync().ConfigureAwait(false);
            var now = _time.GetUtcNow();
            long period = PeriodOf(_model!);
            if (period == 0)
            {
                return (0, null);
            }

            long tick = NextClockTick(now)!.Value.UtcTicks;
            for (; tick <= now.UtcTicks; tick += period)
            {
                var (history, tickNotifications, outcomes) = await TickAsync(new DateTimeOffset(tick, TimeSpan.Zero), cancellationToken).ConfigureAwait(false);
                _clockTicks = tick;
                if (history.Count == 0)
                {
                    continue;
                }

                // The leads the clock moved get their outcome rows now: a restart replays no message for them.
                await _store.CommitAsync(new LeadStoreBatch
                {
                    History = history,
                    Outcomes = outcomes.Outcomes,
                    RemovedOutcomes = outcomes.Removed,
                    Notifications = tickNotifications,
                    StageClock = new DateTimeOffset(tick, TimeSpan.Zero),
                }, cancellationToken).ConfigureAwait(false);
                OutcomesCommitted(outcomes);
                _storedClockTicks = tick;
                notifications.AddRange(tickNotifications);
                told += history.Count;
            }

            if (_clockTicks is { } last && _storedClockTicks != last)
            {
                // Ticks without a move: only the clock moves on.
                await _store.CommitAsync(new LeadStoreBatch { StageClock = new DateTimeOffset(last, TimeSpan.Zero) }, cancellationToken).ConfigureAwait(false);
                _storedClockTicks = last;
            }
        }
        finally
        {
            _writer.Release();
        }

        await DeliverAsync(notifications, cancellationToken).ConfigureAwait(false);
        if (_storedClockTicks is { } committed)
        {
            _status.ClockAt(new DateTimeOffset(committed, TimeSpan.Zero));
        }

        return (told, _clockTicks is { } at ? new DateTimeOffset(at, TimeSpan.Zero) : null);
    }

    /// <summary>
    /// One tick: the leads due in each partition, evaluated at the tick; each move not told before becomes a score
    /// history entry (scored at the move's own tick) and a notification. Nothing is committed here.
    /// </summary>
    private async Task<(List<ScoreHistoryEntry> History, List<LeadNotification> Notifications, OutcomeWrite Outcomes)> TickAsync(
        DateTimeOffset tick, CancellationToken cancellationToken)
    {
        var history = new List<ScoreHistoryEntry>();
        var notifications = new List<LeadNotification>();
        var moved = new List<string>();
        await _structure.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var p in _partitions)
            {
                lock (p.Gate)
                {
                    foreach (var id in p.Engine.TakeDueLeads(tick))
                    {
                        if (p.Engine.Evaluate(id, tick) is not { } result)
                        {
                            continue;
                        }

                        _outcomes.TryGetValue(id, out var previous);
                        var entry = previous?.Entry;
                        foreach (var move in result.StageHistory)
                        {
                            if (previous is not null && previous.Moves.Contains(move))
                            {
                                continue;
                            }

                            // A lead may have moved at an earlier tick (a message that arrived after its tick had
                            // passed): each move is stored and told with its own tick and the scores there.
                            var at = move.At == tick ? result : p.Engine.Evaluate(id, move.At)!;
                            var current = Entry(at, null);
                            history.Add(current);
                            _metrics.StageTransitions.Add(1);
                            if (_scoreHandlers.Count > 0)
                            {
                                var args = new ScoreChangedArguments(id, entry, current, null);
                                notifications.Add(Outgoing(args));
                            }

                            if (_stageHandlers.Count > 0)
                            {
                                var args = new StageChangedArguments(id, move.From, move.To, move.At, result.ModelVersion, null);
                                notifications.Add(Outgoing(args));
                            }

                            entry = current;
                        }

                        if (entry is not null && !ReferenceEquals(entry, previous?.Entry))
                        {
                            _outcomes[id] = new Outcome(entry, [.. result.StageHistory, .. previous?.Moves ?? []], previous?.First ?? long.MinValue);
                            moved.Add(id);
                            KeepLaterOutcome(id, null);
                        }
                    }
                }
            }

            return (history, notifications, TakeOutcomes(moved));
        }
        finally
        {
            _structure.Release();
        }
    }

    /// <summary>
    /// The moves of a lead loaded from the store that its handlers were told: its history up to its latest message,
    /// and the clock's moves after it up to the last tick the store holds.
    /// </summary>
    private IReadOnlyList<StageMove> ToldByClock(LeadScoringEngine engine, LeadResult latest) =>
        _clockTicks is { } clock && clock > latest.AsOf.UtcTicks && PeriodOf(engine.Model) > 0
            && engine.Evaluate(latest.LeadId, new DateTimeOffset(clock, TimeSpan.Zero)) is { } atClock
            ? atClock.StageHistory
            : latest.StageHistory;
}
