using System.Runtime.CompilerServices;

namespace LeadScoring.Engine;

/// <summary>
/// The stage clock's timer queue (spec 3.4): for a host that must act at the ticks of the stage clock (tell a
/// stage-change handler that a quiet lead left MQL), the engine keeps per lead the earliest tick after the lead's
/// latest message at which its stage moves with no new message, and indexes leads by that tick in a
/// <see cref="TimerQueue"/>. A tick then costs time in proportion to the leads due, not to all leads.
/// </summary>
/// <remarks>
/// Nothing is computed while messages are applied: a lead that changes (a message, a replay, a merge, an import, a
/// change of its account) is only marked, and its time is worked out again at the next <see cref="TakeDueLeads"/>.
/// Until the first call nothing is tracked at all (<c>leadscore score</c> never pays for it); the first call
/// examines every lead once.
/// </remarks>
public sealed partial class LeadScoringEngine
{
    /// <summary><see cref="DateTimeOffset.MaxValue"/> in ticks: no move is looked for past it.</summary>
    private const long LastClockTicks = 3_155_378_975_999_999_999;

    /// <summary>
    /// How many ticks ahead a lead is looked at while its account may still change (its stage conditions read
    /// <c>account.*</c>, and a group message of the account is later): the clock evaluates such a lead tick by tick,
    /// so it is looked at again after that many ticks instead of to the end of time.
    /// </summary>
    private const int AccountLookAheadTicks = 64;

    private const byte ClockStale = 1;
    private const byte ClockWake = 2;

    /// <summary>Leads by the tick of their next silent move (or of their next look, <see cref="ClockWake"/>); null until the first call.</summary>
    private TimerQueue? _timers;

    /// <summary>Per row: <see cref="ClockStale"/> (changed since its time was worked out), <see cref="ClockWake"/> (its time is a look, not a move).</summary>
    private byte[] _clockFlags = [];
    private readonly List<int> _clockStale = [];

    /// <summary>
    /// Takes the leads whose stage moves in silence, at a tick of the stage clock after their latest message, at or
    /// before <paramref name="upTo"/>, and that this engine has not handed out for that move before: each lead once,
    /// earliest move first, under its reported id. Evaluate each one (<see cref="Evaluate(string, DateTimeOffset, bool)"/>
    /// as of the tick) to learn its moves. Empty when the model has no stage clock (<c>stageCheckHours</c> 0, or
    /// fewer than two stages).
    /// </summary>
    /// <remarks>
    /// <para>
    /// A host calls it at each tick of the clock (in order, when it catches up after downtime). The engine keeps, per
    /// lead, the earliest tick at which its stage can move (bounded by the decay of each rule's awards, expiry instants,
    /// the ends of <c>occurred ... withinDays</c> windows and the thresholds of the stage conditions; see
    /// <c>docs/decisions.md</c>), so a call costs time in proportion to the leads due and the leads changed since the
    /// previous call. The first call examines every lead.
    /// </para>
    /// <para>
    /// A lead that changed since the previous call (a message, a late message, a merge, a replay, an import, a change
    /// of its account) is examined again from its latest message: a move at a tick already passed (a message that
    /// arrived after its tick had gone by) is handed out at the next call, and a lead may be handed out again for a
    /// move it was handed out for before it changed. A host keeps what it has told and tells only what is new.
    /// </para>
    /// </remarks>
    /// <param name="upTo">The instant the clock has reached, usually a tick.</param>
    /// <returns>The lead ids, earliest move first.</returns>
    public IReadOnlyList<string> TakeDueLeads(DateTimeOffset upTo)
    {
        if (_evaluator.Clock is null)
        {
            return [];
        }

        long now = upTo.UtcTicks;
        var timers = _timers ??= StartClock();
        for (int i = 0; i < _clockStale.Count; i++)
        {
            int row = _clockStale[i];
            _clockFlags[row] &= unchecked((byte)~ClockStale);
            if (_rows[row].Removed)
            {
                timers.Remove(row);
            }
            else
            {
                ScheduleClock(row, long.MinValue);
            }
        }

        _clockStale.Clear();
        if (_clockStale.Capacity > 65_536)
        {
            // A burst of changes (a re-score, a bulk import) need not keep its list.
            _clockStale.Capacity = 1_024;
        }

        var due = new List<string>();
        Span<int> popped = stackalloc int[1];
        while (timers.NextDue is var at && at <= now && timers.PopDue(now, popped) == 1)
        {
            int row = popped[0];
            if (_rows[row].Removed)
            {
                continue;
            }

            if ((_clockFlags[row] & ClockWake) != 0)
            {
                // A look, not a move: work out the time from there on (it may be due already, and pops again).
                ScheduleClock(row, at - 1);
                continue;
            }

            due.Add(ReportedId(row));
            ScheduleClock(row, now);
        }

        return due;
    }

    /// <summary>Ticks evaluated and spans bounded by the stage clock since creation (tests: a tick with nothing due costs nothing).</summary>
    internal long ClockEvaluations => _evaluator.Clock is { } clock ? clock.Evaluations + clock.Probes : 0;

    /// <summary>
    /// For the benchmarks: schedules a lead's silent move at <paramref name="at"/> again after a tick took it, so the same
    /// tick can be measured once more (its time is what the engine worked out before).
    /// </summary>
    internal void ScheduleClockAt(string leadId, DateTimeOffset at)
    {
        int row = _ids.Find(leadId);
        _timers!.Schedule(row, at.UtcTicks);
        _clockFlags[row] &= unchecked((byte)~ClockWake);
    }

    /// <summary>Bytes the timer queue and its per-lead flags take (the benchmarks' timer memory per lead).</summary>
    internal long ClockBytes => (_timers?.Bytes ?? 0) + _clockFlags.Length + (_clockStale.Capacity * 4L);

    /// <summary>A lead changed: its time is worked out again at the next <see cref="TakeDueLeads"/> (once the clock runs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ClockChanged(int row)
    {
        // On the hot path (every applied message): one test while no host runs the clock.
        if (_timers is not null)
        {
            MarkClockStale(row);
        }
    }

    private void MarkClockStale(int row)
    {
        if (row >= _clockFlags.Length)
        {
            Array.Resize(ref _clockFlags, Math.Max(row + 1, _rows.Length));
        }

        if ((_clockFlags[row] & ClockStale) == 0)
        {
            _clockFlags[row] |= ClockStale;
            _clockStale.Add(row);
        }
    }

    /// <summary>The first call: every lead is examined; from now on changed leads are marked.</summary>
    private TimerQueue StartClock()
    {
        // Sized by the leads scheduled (those whose stage can move), not by all leads; the per-row parts grow with the rows.
        _timers = new TimerQueue();
        _clockFlags = new byte[_rows.Length];
        if (Model.StageClock is { ReadsAccount: true })
        {
            // Another lead's group message can move a member of its account at a later tick.
            _accounts.MembersChanged = MarkClockStale;
        }

        for (int row = 0; row < _rowCount; row++)
        {
            if (!_rows[row].Removed)
            {
                ScheduleClock(row, long.MinValue);
            }
        }

        return _timers;
    }

    /// <summary>Schedules <paramref name="row"/> at its first silent move strictly after <paramref name="after"/>, or unschedules it.</summary>
    private void ScheduleClock(int row, long after)
    {
        var timers = _timers!;
        var (at, wake) = NextClockTime(row, after);
        if (at == long.MaxValue)
        {
            timers.Remove(row);
            _clockFlags[row] &= unchecked((byte)~ClockWake);
            return;
        }

        timers.Schedule(row, at);
        _clockFlags[row] = wake ? (byte)(_clockFlags[row] | ClockWake) : (byte)(_clockFlags[row] & ~ClockWake);
    }

    /// <summary>
    /// The tick of the lead's first silent move strictly after <paramref name="after"/> (and after its latest message);
    /// or, while its account may still change, an instant to look again (<c>Wake</c>); <see cref="long.MaxValue"/>
    /// when its stage never moves without a message.
    /// </summary>
    private (long At, bool Wake) NextClockTime(int row, long after)
    {
        Replay(row);
        var state = CurrentState(row);
        if (state.MessageCount == 0)
        {
            return (long.MaxValue, false);
        }

        // The moves from the latest message on, in order; those at or before `after` only give the stage to start from.
        var clock = _evaluator.Clock!;
        long period = Model.StageCheckTicks;
        int stage = state.Stage;
        long from = state.TicksFrom;
        while (true)
        {
            long start = Math.Max(from, after);
            long until = clock.AccountSettled(state, start) || start > LastClockTicks - (AccountLookAheadTicks * period)
                ? LastClockTicks
                : start + (AccountLookAheadTicks * period);
            if (clock.NextMove(state, stage, from, until) is not { } move)
            {
                return until == LastClockTicks ? (long.MaxValue, false) : (until, true);
            }

            if (move.Tick > after)
            {
                return (move.Tick, false);
            }

            (stage, from) = (move.To, move.Tick);
        }
    }
}
