namespace LeadScoring.Engine;

/// <summary>
/// What the stage conditions of a model read that can change while no message arrives (spec 3.4, the stage
/// clock), worked out once per <see cref="CompiledModel"/>: the scores they compare (through composites, grades
/// and the trait rules feeding those scores), the numbers at which each comparison can flip, and the
/// <c>occurred ... withinDays</c> windows whose closing can flip one. Immutable, thread-safe.
/// </summary>
internal sealed class StageClockPlan
{
    public StageClockPlan(CompiledModel model)
    {
        var leaves = new List<(int Score, double[]? Breakpoints)>();
        var occurred = new List<OccurredNode>();
        var needed = new bool[model.Scores.Length];
        bool account = false;
        bool personasWalked = false;

        void Walk(CompiledCondition? c)
        {
            switch (c)
            {
                case null:
                    return;
                case AllNode a:
                    foreach (var child in a.Children)
                    {
                        Walk(child);
                    }

                    return;
                case AnyNode a:
                    foreach (var child in a.Children)
                    {
                        Walk(child);
                    }

                    return;
                case NotNode n:
                    Walk(n.Inner);
                    return;
                case OccurredNode o:
                    occurred.Add(o);
                    return;
                case FieldNode f:
                    switch (f.Field.Root)
                    {
                        case FieldRoot.Score:
                            leaves.Add((f.Field.ScoreIndex, f.NumericBreakpoints()));
                            Need(f.Field.ScoreIndex);
                            break;
                        case FieldRoot.Grade when model.GradeScore >= 0:
                            // The grade changes only where the grade score crosses a band's min.
                            leaves.Add((model.GradeScore, [.. model.GradeMins.Where(double.IsFinite)]));
                            Need(model.GradeScore);
                            break;
                        case FieldRoot.Account:
                            // Other leads' group messages change account traits at any instant: no bound.
                            account = true;
                            break;
                        case FieldRoot.Persona when !personasWalked:
                            personasWalked = true;
                            foreach (var p in model.Personas)
                            {
                                Walk(p);
                            }

                            break;
                    }

                    // traits.*, stage, and properties.*/context.*/event (missing at a tick) do not change between messages.
                    return;
            }
        }

        void Need(int score)
        {
            if (needed[score])
            {
                return;
            }

            needed[score] = true;
            foreach (var (component, _) in model.Scores[score].Components)
            {
                Need(component);
            }

            foreach (var rule in model.TraitRules)
            {
                if (rule.ScoreIndex == score)
                {
                    // A trait rule's when can read occurred windows and personas (never scores).
                    Walk(rule.When);
                }
            }
        }

        foreach (var c in model.StageEnter)
        {
            Walk(c);
        }

        foreach (var c in model.StageExit)
        {
            Walk(c);
        }

        ReadsAccount = account;
        Leaves = [.. leaves];
        Occurred = [.. occurred.Distinct()];
        NeededScores = needed;
        NeededRules = [.. model.Rules.Where(r => needed[r.ScoreIndex])];
        NeededComposites = [.. model.CompositeOrder.Where(s => needed[s])];
    }

    /// <summary>
    /// Whether stage conditions read <c>account.*</c> (directly, or through a persona or a trait rule): other leads'
    /// group messages change those at any instant, so ticks are jumped only once the lead's account has settled.
    /// </summary>
    public bool ReadsAccount { get; }

    /// <summary>Each comparison on a score (or on the grade): the score, and where its result can flip (null: anywhere).</summary>
    public (int Score, double[]? Breakpoints)[] Leaves { get; }

    /// <summary>The <c>occurred</c> conditions that stage conditions read, directly or through trait rules.</summary>
    public OccurredNode[] Occurred { get; }

    public bool[] NeededScores { get; }

    /// <summary>The rules of the needed scores, in document order (the order of the score's running sum).</summary>
    public CompiledRule[] NeededRules { get; }

    public int[] NeededComposites { get; }
}

/// <summary>
/// The stage clock (spec 3.4): re-evaluates a lead's stage at every tick <c>k * stageCheckHours</c> after the Unix
/// epoch in an interval with no message, recording moves at the tick's time. A tick does not cost an evaluation:
/// after a tick without a move, the clock works out how far the lead is certain to stay put and jumps there.
/// <para>
/// The bound: with no message, the stage conditions change only through scores (each event rule's share, a sum
/// of awards of one sign decaying or expiring, only shrinks towards 0: it is monotone), <c>occurred ... withinDays</c>
/// windows closing, and account traits (other leads' group messages; while the lead's account may still change,
/// as far as <see cref="IAccountDirectory.SettledAfter"/> tells, a model whose stage conditions read <c>account.*</c>
/// is evaluated at every tick). Traits, personas and the stage itself are fixed. Over ticks <c>[a, b]</c> each share lies
/// between its values at <c>a</c> and <c>b</c>, so interval arithmetic bounds every score; while no comparison's
/// breakpoint lies in its score's interval and no window closes, every condition has the value it had at
/// <c>a</c>, where the stage did not move. The farthest such <c>b</c> is found by doubling and bisection.
/// </para>
/// One per <see cref="Evaluator"/>: it keeps scratch buffers, so running the clock allocates nothing. Not thread-safe.
/// </summary>
internal sealed class StageClock
{
    /// <summary><see cref="DateTime.UnixEpoch"/> in ticks: the clock's origin.</summary>
    internal const long EpochTicks = 621_355_968_000_000_000;

    private readonly Evaluator _ev;
    private readonly CompiledModel _model;
    private readonly StageClockPlan _plan;
    private readonly long _period;
    private readonly double[] _atStart;
    private readonly double[] _lo;
    private readonly double[] _hi;

    public StageClock(Evaluator evaluator, StageClockPlan plan)
    {
        _ev = evaluator;
        _model = evaluator.Model;
        _plan = plan;
        _period = _model.StageCheckTicks;
        _atStart = new double[_model.Rules.Length];
        _lo = new double[_model.Scores.Length];
        _hi = new double[_model.Scores.Length];
    }

    /// <summary>For tests: evaluate every tick instead of jumping (the reference the jumps must agree with).</summary>
    internal bool EveryTick { get; set; }

    /// <summary>How many ticks were evaluated exactly since creation (for tests: the jumps must skip most).</summary>
    internal long Evaluations { get; private set; }

    /// <summary>How many spans were bounded since creation (each about one score evaluation).</summary>
    internal long Probes { get; private set; }

    /// <summary>The first tick strictly after <paramref name="ticks"/>.</summary>
    public static long NextTick(long ticks, long period) => EpochTicks + (FloorDiv(ticks - EpochTicks, period) + 1) * period;

    /// <summary>
    /// Runs the ticks strictly after <paramref name="from"/> and strictly before <paramref name="until"/> on a lead
    /// whose state is <paramref name="state"/> (every message up to <paramref name="from"/> applied) and whose stage
    /// is <paramref name="stage"/>; appends each move to <paramref name="history"/>. Returns the stage after the last tick.
    /// The state itself is not changed.
    /// </summary>
    public int Run(LeadState state, int stage, long from, long until, ref List<StageMove>? history)
    {
        while (NextMove(state, stage, from, until) is { } move)
        {
            var names = _model.StageNames;
            (history ??= []).Add(new StageMove(names[stage], names[move.To], new DateTimeOffset(move.Tick, TimeSpan.Zero)));
            stage = move.To;
            from = move.Tick;
        }

        return stage;
    }

    /// <summary>
    /// The first tick strictly after <paramref name="from"/> and strictly before <paramref name="until"/> at which the
    /// stage of a lead in <paramref name="stage"/> moves with no new message, and where to; null when it stays. For a
    /// host-side clock: schedule the lead at that tick (a <see cref="TimerQueue"/>). The state is not changed.
    /// </summary>
    public (long Tick, int To)? NextMove(LeadState state, int stage, long from, long until)
    {
        if (until <= from)
        {
            return null;
        }

        long k = FloorDiv(from - EpochTicks, _period) + 1;
        long last = FloorDiv(until - 1 - EpochTicks, _period);
        while (k <= last)
        {
            long tick = EpochTicks + (k * _period);
            Evaluations++;
            if (_ev.StageAfterTick(state, stage, tick) is { } to)
            {
                return (tick, to);
            }

            k = EveryTick || !AccountSettled(state, tick) ? k + 1 : FarthestQuiet(state, stage, k, last) + 1;
        }

        return null;
    }

    /// <summary>Whether the account traits the lead's stage conditions can read stay as they are from <paramref name="tick"/> on.</summary>
    internal bool AccountSettled(LeadState state, long tick) =>
        !_plan.ReadsAccount || state.GroupId is not { } group || _ev.Accounts is not { } accounts || accounts.SettledAfter(group) <= tick;

    /// <summary>
    /// The last tick index <c>m</c> in <c>[k, last]</c> such that every stage condition has, at every tick in
    /// <c>[k, m]</c>, the value it has at tick <c>k</c>.
    /// </summary>
    private long FarthestQuiet(LeadState state, int stage, long k, long last)
    {
        long start = EpochTicks + (k * _period);

        // Windows: an occurred condition flips where a window opens (t) or closes (t + withinDays).
        long limit = last;
        foreach (var node in _plan.Occurred)
        {
            foreach (int i in node.NameIndexes)
            {
                long t = state.OccurredLast[i];
                if (t == long.MinValue)
                {
                    continue;
                }

                Cut(ref limit, start, t);
                if (node.WindowTicks > 0 && t <= long.MaxValue - node.WindowTicks)
                {
                    Cut(ref limit, start, t + node.WindowTicks);
                }
            }
        }

        if (limit == k || _plan.Leaves.Length == 0)
        {
            return limit;
        }

        // Scores: each rule's share at the first tick, and the fixed trait rules.
        _ev.BeginTick(state, start, stage);
        foreach (var rule in _plan.NeededRules)
        {
            _atStart[rule.Index] = rule.IsEvent ? _ev.EventShare(rule) : _ev.TraitHolds(rule) ? rule.Points : 0;
        }

        // Most leads sit far from every threshold: one probe over the whole span settles it.
        if (Quiet(state, stage, limit))
        {
            return limit;
        }

        // Doubling, then bisection: quiet over [k, m] is monotone in m (the intervals only grow).
        long good = k;
        long bad = limit;
        long step = 1;
        while (k + step < bad)
        {
            long m = k + step;
            if (!Quiet(state, stage, m))
            {
                bad = m;
                break;
            }

            good = m;
            step *= 2;
        }

        while (bad - good > 1)
        {
            long mid = good + ((bad - good) / 2);
            if (Quiet(state, stage, mid))
            {
                good = mid;
            }
            else
            {
                bad = mid;
            }
        }

        return good;
    }

    /// <summary>Lowers <paramref name="limit"/> to the last tick before <paramref name="flip"/> where that is after <paramref name="start"/>.</summary>
    private void Cut(ref long limit, long start, long flip)
    {
        if (flip > start)
        {
            long before = FloorDiv(flip - 1 - EpochTicks, _period);
            if (before < limit)
            {
                limit = before;
            }
        }
    }

    /// <summary>Whether no score comparison can flip between the first tick and tick <paramref name="m"/>.</summary>
    private bool Quiet(LeadState state, int stage, long m)
    {
        Probes++;
        _ev.BeginTick(state, EpochTicks + (m * _period), stage);
        var scores = _model.Scores;
        var needed = _plan.NeededScores;
        for (int s = 0; s < scores.Length; s++)
        {
            _lo[s] = 0;
            _hi[s] = 0;
        }

        // The same running sums as Evaluator (rules in document order): floating-point addition is monotone,
        // so the sums of the lower and upper ends bound the value computed at any tick in between.
        foreach (var rule in _plan.NeededRules)
        {
            double a = _atStart[rule.Index];
            double b = rule.IsEvent && rule.KeepsAwardTimes ? _ev.EventShare(rule) : a;
            _lo[rule.ScoreIndex] += Math.Min(a, b);
            _hi[rule.ScoreIndex] += Math.Max(a, b);
        }

        for (int s = 0; s < scores.Length; s++)
        {
            if (needed[s] && !scores[s].IsComposite)
            {
                if (!double.IsFinite(_lo[s]) || !double.IsFinite(_hi[s]))
                {
                    // Saturated sums (points near 1e308) are no bound: evaluate tick by tick.
                    return false;
                }

                _lo[s] = scores[s].Clamp(Evaluator.Finite(_lo[s]));
                _hi[s] = scores[s].Clamp(Evaluator.Finite(_hi[s]));
            }
        }

        foreach (int s in _plan.NeededComposites)
        {
            double lo = 0;
            double hi = 0;
            foreach (var (component, weight) in scores[s].Components)
            {
                if (weight >= 0)
                {
                    lo += weight * _lo[component];
                    hi += weight * _hi[component];
                }
                else
                {
                    lo += weight * _hi[component];
                    hi += weight * _lo[component];
                }
            }

            if (!double.IsFinite(lo) || !double.IsFinite(hi))
            {
                return false;
            }

            _lo[s] = scores[s].Clamp(lo);
            _hi[s] = scores[s].Clamp(hi);
        }

        foreach (var (score, breakpoints) in _plan.Leaves)
        {
            double lo = _lo[score];
            double hi = _hi[score];
            if (lo == hi)
            {
                continue;
            }

            if (breakpoints is null)
            {
                return false;
            }

            // A margin far above rounding error (Math.Pow is not promised to be monotone to the last bit).
            double margin = 1e-9 * Math.Max(Math.Abs(lo), Math.Abs(hi));
            foreach (double c in breakpoints)
            {
                if (c >= lo - margin && c <= hi + margin)
                {
                    return false;
                }
            }
        }

        return true;
    }

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-(a + 1) / b) + 1);
}
