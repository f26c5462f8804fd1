using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>Where account traits come from: the group messages of every lead (spec 3.5).</summary>
internal interface IAccountDirectory
{
    /// <summary>The traits of account <paramref name="groupId"/> merged over its group messages up to the order key given.</summary>
    Dictionary<string, DataValue>? TraitsAt(string groupId, long ticks, string? messageId);

    /// <summary>
    /// An instant after which the traits of account <paramref name="groupId"/> no longer change as far as this
    /// directory knows (the timestamp of its latest group message; <see cref="long.MinValue"/> for an account without
    /// any), or <see cref="long.MaxValue"/> where the directory cannot tell. The stage clock jumps over ticks of a
    /// lead whose stage conditions read <c>account.*</c> only after that instant; before it, it evaluates every tick.
    /// </summary>
    long SettledAfter(string groupId) => long.MaxValue;
}

/// <summary>
/// Applies messages to a <see cref="LeadState"/> and evaluates conditions and scores at an instant.
/// One instance per engine (or thread): it carries scratch buffers so the hot path allocates nothing.
/// Not thread-safe.
/// </summary>
internal sealed class Evaluator
{
    private readonly double[] _values;
    private readonly double[] _raw;
    private bool _scoresValid;
    private int _persona = -2;

    /// <summary>The stage conditions see: the state's, or the one a stage clock run has reached without changing the state.</summary>
    private int _stage;
    private readonly StageClock? _clock;

    public Evaluator(CompiledModel model, IAccountDirectory? accounts)
    {
        Model = model;
        Accounts = accounts;
        _values = new double[model.Scores.Length];
        _raw = new double[model.Scores.Length];
        State = null!;
        _clock = model.StageClock is { } plan ? new StageClock(this, plan) : null;
    }

    /// <summary>The stage clock (spec 3.4), or null where the model has none.</summary>
    internal StageClock? Clock => _clock;

    public CompiledModel Model { get; }

    public IAccountDirectory? Accounts { get; }

    public LeadState State { get; private set; }

    /// <summary>The instant conditions are evaluated at.</summary>
    public long Now { get; private set; }

    /// <summary>The message being applied; <see langword="null"/> outside an event rule's <c>when</c>.</summary>
    public LeadMessage? Message { get; private set; }

    /// <summary>The tie-breaker of <see cref="Now"/> for account traits: the message id being applied, or null at an as-of time.</summary>
    private string? _orderId;

    private void Begin(LeadState state, long now, string? orderId)
    {
        State = state;
        Now = now;
        _orderId = orderId;
        Message = null;
        _scoresValid = false;
        _persona = -2;
        _stage = state.Stage;
    }

    /// <summary>The value of score <paramref name="index"/> of <paramref name="state"/> at <paramref name="asOf"/>; allocates nothing.</summary>
    public double ScoreAt(LeadState state, long asOf, int index)
    {
        Begin(state, asOf, null);
        return ScoreValue(index);
    }

    // ------------------------------------------------------------------ apply

    /// <summary>Applies one message to <paramref name="state"/> (spec 2.3): traits, account, awards, then the stage.</summary>
    public void Apply(LeadState state, LeadMessage m)
    {
        long t = m.TimestampTicks;

        // Spec 3.4, the stage clock: the ticks from the latest message (a tick at exactly its time comes after it,
        // unless it is the lead's first) to strictly before this one come first; a tick at exactly t comes after
        // this message and every other message at t. A late message runs none.
        if (_clock is not null && state.MessageCount > 0 && t > state.LastTicks)
        {
            state.Stage = _clock.Run(state, state.Stage, state.TicksFrom, t, ref state.History);
        }

        if (t < state.FirstTicks)
        {
            state.FirstTicks = t;
        }

        Begin(state, t, m.MessageId);
        state.MessageCount++;
        if (state.IsAfterLast(t, m.MessageId))
        {
            state.LastTicks = t;
            state.LastMessageId = m.MessageId;
        }

        if (m.UserId is not null)
        {
            if (LeadMessage.CompareOrder(t, m.MessageId, state.UserIdTicks, state.UserIdMessageId) > 0)
            {
                state.UserId = m.UserId;
                state.UserIdTicks = t;
                state.UserIdMessageId = m.MessageId;
            }
        }

        state.AnonymousId ??= m.AnonymousId;

        switch (m.Type)
        {
            case MessageType.Identify:
                if (m.Traits is not null)
                {
                    DataValue.MergeTraits(state.Traits ??= new Dictionary<string, DataValue>(StringComparer.Ordinal), m.Traits);
                }

                break;
            case MessageType.Group:
                state.GroupId = m.GroupId;
                break;
            case MessageType.Track:
                if (Model.OccurredIndex.Count > 0 && Model.OccurredIndex.TryGetValue(m.Event!, out int occurred) && t > state.OccurredLast[occurred])
                {
                    state.OccurredLast[occurred] = t;
                }

                ApplyRules(state, m, Model.EventRules.TryGetValue(m.Event!, out var rules) ? rules : []);
                break;
            case MessageType.Page:
                ApplyRules(state, m, Model.PageRules);
                break;
        }

        if (Model.StageNames.Length > 1)
        {
            Begin(state, t, m.MessageId);
            if (NextStage() is { } to && to != state.Stage)
            {
                (state.History ??= []).Add(new StageMove(Model.StageNames[state.Stage], Model.StageNames[to], new DateTimeOffset(t, TimeSpan.Zero)));
                state.Stage = to;
            }
        }
    }

    private void ApplyRules(LeadState state, LeadMessage m, CompiledRule[] rules)
    {
        long t = m.TimestampTicks;
        for (int r = 0; r < rules.Length; r++)
        {
            var rule = rules[r];
            if (rule.When is not null)
            {
                Message = m;
                bool holds = rule.When.Evaluate(this);
                Message = null;
                if (!holds)
                {
                    continue;
                }
            }

            // after: the n-th match within the window, itself included; every match is remembered.
            if (rule.AfterRing >= 0)
            {
                long oldest = state.OldestOfFull(Model, rule.AfterRing);
                bool candidate = oldest != long.MinValue && oldest > t - rule.AfterWindowTicks;
                state.Push(Model, rule.AfterRing, t);
                if (!candidate)
                {
                    continue;
                }
            }

            int e = rule.EventIndex;
            if (rule.LimitCount > 0 && !UnderLimit(state, rule, m, t))
            {
                state.Counts[2 * e + 1]++;
                continue;
            }

            state.Counts[2 * e]++;
            if (rule.KeepsAwardTimes)
            {
                var times = state.AwardTimes![e] ??= [];
                if (rule.ExpiresTicks > 0 && times.Count > 0 && t - times[0] >= rule.ExpiresTicks)
                {
                    // Awards expired at this message's time count for no later instant either: drop them,
                    // so an expiring rule keeps a bounded list. (Their number stays in Counts.)
                    int expired = 0;
                    while (expired < times.Count && t - times[expired] >= rule.ExpiresTicks)
                    {
                        expired++;
                    }

                    times.RemoveRange(0, expired);
                }

                times.Add(t);
            }
        }
    }

    /// <summary>Whether the limit lets this candidate through; if so, records the award in the limit's window.</summary>
    private bool UnderLimit(LeadState state, CompiledRule rule, LeadMessage m, long t)
    {
        int e = rule.EventIndex;
        if (rule.LimitPer is { } per)
        {
            var value = per.Root == FieldRoot.Properties ? per.Walk(m.Properties, 0) : per.Walk(m.Context, 0);
            string key = value?.AsText ?? (value is null ? LeadState.MissingKey : value.Kind.ToString());
            var windows = state.PerValue![e] ??= new Dictionary<string, PerValueWindow>(StringComparer.OrdinalIgnoreCase);
            if (!windows.TryGetValue(key, out var w))
            {
                windows[key] = w = new PerValueWindow();
            }

            if (rule.LimitWindowTicks == 0)
            {
                if (LimitRule.LifetimeReached(w.Awards, rule.LimitCount))
                {
                    return false;
                }
            }
            else
            {
                long oldestOfValue = WindowRing.OldestOfFull(w.Ring, rule.LimitCount, w.Written);
                if (LimitRule.WindowReached(oldestOfValue != long.MinValue, oldestOfValue, t, rule.LimitWindowTicks))
                {
                    return false;
                }

                WindowRing.Push(ref w.Ring, rule.LimitCount, ref w.Written, t);
            }

            w.Awards++;
            return true;
        }

        if (rule.LimitWindowTicks == 0)
        {
            return !LimitRule.LifetimeReached(state.Counts[2 * e], rule.LimitCount);
        }

        long oldest = state.OldestOfFull(Model, rule.LimitRing);
        if (LimitRule.WindowReached(oldest != long.MinValue, oldest, t, rule.LimitWindowTicks))
        {
            return false;
        }

        state.Push(Model, rule.LimitRing, t);
        return true;
    }

    // ------------------------------------------------------------------ stages

    /// <summary>Spec 3.4: the stage after re-evaluation at <see cref="Now"/>, or null when it stays.</summary>
    private int? NextStage()
    {
        var enter = Model.StageEnter;
        int current = _stage;
        for (int i = enter.Length - 1; i > current; i--)
        {
            if (enter[i]!.Evaluate(this))
            {
                return i;
            }
        }

        if (Model.StageExit[current] is { } exit && exit.Evaluate(this))
        {
            for (int j = current - 1; j > 0; j--)
            {
                if (enter[j]!.Evaluate(this))
                {
                    return j;
                }
            }

            return 0;
        }

        return null;
    }

    /// <summary>Prepares evaluation at a tick of the stage clock: no message, every one up to the tick applied, the stage given.</summary>
    internal void BeginTick(LeadState state, long tick, int stage)
    {
        Begin(state, tick, null);
        _stage = stage;
    }

    /// <summary>The stage after re-evaluation at <paramref name="tick"/> from <paramref name="stage"/>, or null when it stays.</summary>
    internal int? StageAfterTick(LeadState state, int stage, long tick)
    {
        BeginTick(state, tick, stage);
        return NextStage() is { } to && to != stage ? to : null;
    }

    /// <summary>An event rule's clamped share at <see cref="Now"/>, as it enters the score's raw value.</summary>
    internal double EventShare(CompiledRule rule) => rule.ClampShare(Finite(Share(rule)));

    /// <summary>Whether a trait rule holds at <see cref="Now"/>.</summary>
    internal bool TraitHolds(CompiledRule rule) => rule.When is null || rule.When.Evaluate(this);

    // ------------------------------------------------------------------ evaluation at T

    /// <summary>Evaluates <paramref name="state"/> at <paramref name="asOf"/>; the state is not changed.</summary>
    public LeadResult Evaluate(LeadState state, string leadId, long asOf, bool explain, bool reevaluateStage = true)
    {
        // Spec 3.4: the ticks strictly between the latest message and T, on a copy of the stage and its history.
        var history = state.History is { Count: > 0 } h ? new List<StageMove>(h) : null;
        int current = state.Stage;
        if (reevaluateStage && _clock is not null && state.MessageCount > 0)
        {
            current = _clock.Run(state, current, state.TicksFrom, asOf, ref history);
        }

        Begin(state, asOf, null);
        _stage = current;
        EnsureScores();
        var scores = new double[_values.Length];
        var raw = new double[_values.Length];
        Array.Copy(_values, scores, scores.Length);
        Array.Copy(_raw, raw, raw.Length);
        string? grade = Model.GradeScore >= 0 ? Model.GradeOf(_values[Model.GradeScore]) : null;
        int persona = Persona();
        string? stage = null;
        if (Model.StageNames.Length > 0)
        {
            if (reevaluateStage && Model.StageNames.Length > 1 && NextStage() is { } to && to != current)
            {
                (history ??= []).Add(new StageMove(Model.StageNames[current], Model.StageNames[to], new DateTimeOffset(asOf, TimeSpan.Zero)));
                current = to;
            }

            stage = Model.StageNames[current];
        }

        List<RuleContribution>? contributions = null;
        if (explain)
        {
            contributions = [];
            foreach (var rule in Model.Rules)
            {
                if (!rule.IsEvent)
                {
                    if (rule.When is null || rule.When.Evaluate(this))
                    {
                        contributions.Add(new RuleContribution(rule.Definition.Id, rule.Definition.Score, 1, 0, rule.Points));
                    }

                    continue;
                }

                int awards = state.Counts[2 * rule.EventIndex];
                int suppressed = state.Counts[2 * rule.EventIndex + 1];
                double points = rule.ClampShare(Finite(Share(rule)));
                // A rule with neither awards nor suppressed matches is listed only when minPoints/maxPoints
                // give it a non-zero share, so that the points still add up to raw.
                if (awards > 0 || suppressed > 0 || points != 0)
                {
                    contributions.Add(new RuleContribution(rule.Definition.Id, rule.Definition.Score, awards, suppressed, points));
                }
            }
        }

        return new LeadResult(
            leadId, new DateTimeOffset(asOf, TimeSpan.Zero), Model.ScoreNames, scores, raw, grade,
            persona >= 0 ? Model.PersonaNames[persona] : null, stage, history, contributions, Model.Model.Version, state.LastMessageId);
    }

    /// <summary>
    /// Scores saturate at ±<see cref="double.MaxValue"/> instead of overflowing to infinity (JSON has no infinity);
    /// only absurd models (points near 1e308) ever reach it.
    /// </summary>
    internal static double Finite(double v) =>
        double.IsNaN(v) ? 0 : v > double.MaxValue ? double.MaxValue : v < double.MinValue ? double.MinValue : v;

    /// <summary>The value of score <paramref name="index"/> at <see cref="Now"/>.</summary>
    public double ScoreValue(int index)
    {
        EnsureScores();
        return _values[index];
    }

    private void EnsureScores()
    {
        if (_scoresValid)
        {
            return;
        }

        // Spec 3.5: raw = trait rules that hold + clamped event-rule shares; value = clamp(raw).
        // Floating-point order (docs/arithmetic.md): one running sum per score, rules in document order.
        var saved = Message;
        Message = null;
        Array.Clear(_raw);
        foreach (var rule in Model.Rules)
        {
            if (!rule.IsEvent)
            {
                if (rule.When is null || rule.When.Evaluate(this))
                {
                    _raw[rule.ScoreIndex] += rule.Points;
                }
            }
            else
            {
                _raw[rule.ScoreIndex] += rule.ClampShare(Finite(Share(rule)));
            }
        }

        FinishScores(Model, _raw, _values);
        Message = saved;
        _scoresValid = true;
    }

    /// <summary>
    /// Spec 3.5, the second half: each plain score's raw sum made finite and clamped, then the composites in dependency
    /// order. <paramref name="raw"/> holds the plain scores' running sums (trait points and clamped event shares, rules
    /// in document order); both are filled for every score. The one place of this arithmetic: flat rows use it too.
    /// </summary>
    internal static void FinishScores(CompiledModel model, double[] raw, double[] values)
    {
        var scores = model.Scores;
        for (int s = 0; s < scores.Length; s++)
        {
            if (!scores[s].IsComposite)
            {
                raw[s] = Finite(raw[s]);
                values[s] = scores[s].Clamp(raw[s]);
            }
        }

        foreach (int s in model.CompositeOrder)
        {
            double sum = 0;
            foreach (var (component, weight) in scores[s].Components)
            {
                sum += weight * values[component];
            }

            raw[s] = Finite(sum);
            values[s] = scores[s].Clamp(raw[s]);
        }
    }

    /// <summary>Spec 3.5: the share of <paramref name="awards"/> awards of a rule without decay or expiry (summed one by one unless the points are whole).</summary>
    internal static double PlainShare(CompiledRule rule, int awards)
    {
        if (rule.PointsAreWhole)
        {
            return awards * rule.Points;
        }

        double sum = 0;
        for (int i = 0; i < awards; i++)
        {
            sum += rule.Points;
        }

        return sum;
    }

    /// <summary>Spec 3.5: the rule's awards up to <see cref="Now"/>, decayed and without expired ones, summed in time order.</summary>
    private double Share(CompiledRule rule)
    {
        int e = rule.EventIndex;
        if (!rule.KeepsAwardTimes)
        {
            return PlainShare(rule, State.Counts[2 * e]);
        }

        var times = State.AwardTimes![e];
        if (times is null)
        {
            return 0;
        }

        double share = 0;
        foreach (long ta in times)
        {
            if (ta > Now)
            {
                continue;
            }

            long age = Now - ta;
            if (rule.ExpiresTicks > 0 && age >= rule.ExpiresTicks)
            {
                continue;
            }

            share += rule.HalfLifeDays > 0
                ? rule.Points * Math.Pow(2, -Ticks.ToDays(age) / rule.HalfLifeDays)
                : rule.Points;
        }

        return share;
    }

    private int Persona()
    {
        if (_persona != -2)
        {
            return _persona;
        }

        var saved = Message;
        Message = null;
        _persona = -1;
        for (int i = 0; i < Model.Personas.Length; i++)
        {
            if (Model.Personas[i].Evaluate(this))
            {
                _persona = i;
                break;
            }
        }

        Message = saved;
        return _persona;
    }

    // ------------------------------------------------------------------ fields

    public FieldValue Resolve(FieldPath path)
    {
        switch (path.Root)
        {
            case FieldRoot.Traits:
                return State.Traits is { } traits && traits.TryGetValue(path.Segments[0], out var tv)
                    ? FieldValue.Of(path.Walk(tv, 1))
                    : FieldValue.Missing;
            case FieldRoot.Account:
                if (State.GroupId is null || Accounts?.TraitsAt(State.GroupId, Now, _orderId) is not { } account)
                {
                    return FieldValue.Missing;
                }

                return account.TryGetValue(path.Segments[0], out var av) ? FieldValue.Of(path.Walk(av, 1)) : FieldValue.Missing;
            case FieldRoot.Properties:
                return FieldValue.Of(path.Walk(Message?.Properties, 0));
            case FieldRoot.Context:
                return FieldValue.Of(path.Walk(Message?.Context, 0));
            case FieldRoot.Event:
                return Message is { Type: MessageType.Track } m ? FieldValue.OfName(m.Event) : FieldValue.Missing;
            case FieldRoot.Score:
                return FieldValue.OfNumber(ScoreValue(path.ScoreIndex));
            case FieldRoot.Grade:
                return Model.GradeScore < 0 ? FieldValue.Missing : FieldValue.OfName(Model.GradeOf(ScoreValue(Model.GradeScore)));
            case FieldRoot.Persona:
                int p = Persona();
                return p < 0 ? FieldValue.Missing : FieldValue.OfName(Model.PersonaNames[p]);
            case FieldRoot.Stage:
                return Model.StageNames.Length == 0 ? FieldValue.Missing : FieldValue.OfName(Model.StageNames[_stage]);
            default:
                return FieldValue.Missing;
        }
    }
}
