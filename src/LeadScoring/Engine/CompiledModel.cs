using System.Collections.Frozen;
using System.Collections.Immutable;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Engine;

/// <summary>
/// A <see cref="ScoringModel"/> compiled for scoring: event rules indexed by name in frozen lookups,
/// operands pre-parsed, regular expressions built, field paths parsed, per-lead state laid out.
/// Immutable and thread-safe: compile once, share across engines and threads.
/// </summary>
public sealed class CompiledModel
{
    internal const string PageKey = "$page";

    private CompiledModel(ScoringModel model, ModelLoadOptions options)
    {
        Model = model;
        ScoreNames = [.. model.Scores.Select(s => s.Name)];
        var scoreIndex = model.Scores.Select((s, i) => (s.Name, i)).ToDictionary(x => x.Name, x => x.i, StringComparer.Ordinal);
        Scores = model.Scores.Select(s => new ScoreSlot(s, scoreIndex)).ToArray();
        CompositeOrder = TopologicalComposites(Scores);

        var occurred = new List<string>();
        var occurredIndex = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        var paths = new Dictionary<string, FieldPath>(StringComparer.Ordinal);
        var builder = new ConditionCompiler(scoreIndex, occurred, occurredIndex, paths, options.RegexTimeout);

        var layout = new StateLayout();
        var rules = new List<CompiledRule>();
        foreach (var r in model.Rules)
        {
            var slot = Scores[scoreIndex[r.Score]];
            var rule = new CompiledRule(rules.Count, r, scoreIndex[r.Score], r.When is null ? null : builder.Compile(r.When), slot.Definition.HalfLifeDays, layout, paths);
            rules.Add(rule);
        }

        Rules = [.. rules];
        EventRuleCount = layout.EventRules;
        RingSlots = layout.RingSlots;
        RingCount = layout.Rings;
        RingOffsets = [.. layout.RingSpans.Select(r => r.Offset)];
        RingSizes = [.. layout.RingSpans.Select(r => r.Size)];
        KeepsAwardTimes = rules.Any(r => r.KeepsAwardTimes);
        HasPerLimits = rules.Any(r => r.LimitPer is not null);
        TraitRules = rules.Where(r => !r.IsEvent).ToArray();
        var byName = new Dictionary<string, List<CompiledRule>>(StringComparer.OrdinalIgnoreCase);
        foreach (var rule in rules.Where(r => r.IsEvent))
        {
            foreach (var name in rule.Definition.On)
            {
                if (!byName.TryGetValue(name, out var list))
                {
                    byName[name] = list = [];
                }

                if (!list.Contains(rule))
                {
                    list.Add(rule);
                }
            }
        }

        PageRules = byName.TryGetValue(PageKey, out var page) ? [.. page] : [];
        byName.Remove(PageKey);
        EventRules = byName.ToFrozenDictionary(kv => kv.Key, kv => kv.Value.ToArray(), StringComparer.OrdinalIgnoreCase);

        if (model.Grade is { } grade)
        {
            GradeScore = scoreIndex[grade.Score];
            GradeNames = [.. grade.Bands.Select(b => b.Grade)];
            GradeMins = [.. grade.Bands.Select(b => b.Min ?? double.NegativeInfinity)];
        }
        else
        {
            GradeScore = -1;
            GradeNames = [];
            GradeMins = [];
        }

        PersonaNames = [.. model.Personas.Select(p => p.Name)];
        Personas = [.. model.Personas.Select(p => builder.Compile(p.When))];
        StageNames = [.. model.Stages.Select(s => s.Name)];
        StageEnter = [.. model.Stages.Select(s => s.Enter is null ? null : builder.Compile(s.Enter))];
        StageExit = [.. model.Stages.Select(s => s.Exit is null ? null : builder.Compile(s.Exit))];
        OccurredNames = [.. occurred];
        OccurredIndex = occurredIndex.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        UsesAccount = paths.Values.Any(p => p.Root == FieldRoot.Account);
        StageCheckTicks = StageNames.Length > 1 ? model.EffectiveStageCheckHours * TimeSpan.TicksPerHour : 0;
        StageClock = StageCheckTicks > 0 ? new StageClockPlan(this) : null;
    }

    /// <summary>The model this was compiled from.</summary>
    public ScoringModel Model { get; }

    /// <summary>The score names in output order.</summary>
    public ImmutableArray<string> ScoreNames { get; }

    internal ScoreSlot[] Scores { get; }

    internal int[] CompositeOrder { get; }

    internal CompiledRule[] Rules { get; }

    internal CompiledRule[] TraitRules { get; }

    internal CompiledRule[] PageRules { get; }

    internal FrozenDictionary<string, CompiledRule[]> EventRules { get; }

    internal int RingSlots { get; }

    internal int RingCount { get; }

    internal int[] RingOffsets { get; }

    internal int[] RingSizes { get; }

    internal int EventRuleCount { get; }

    internal bool KeepsAwardTimes { get; }

    internal bool HasPerLimits { get; }

    internal int GradeScore { get; }

    internal string[] GradeNames { get; }

    internal double[] GradeMins { get; }

    internal string[] PersonaNames { get; }

    internal CompiledCondition[] Personas { get; }

    internal string[] StageNames { get; }

    internal CompiledCondition?[] StageEnter { get; }

    internal CompiledCondition?[] StageExit { get; }

    internal string[] OccurredNames { get; }

    internal FrozenDictionary<string, int> OccurredIndex { get; }

    /// <summary>
    /// The stage clock's period in ticks (spec 3.4, <c>stageCheckHours</c>): a tick at every multiple of it after the
    /// Unix epoch. 0: no clock (turned off, or fewer than two stages, where no move is possible).
    /// </summary>
    internal long StageCheckTicks { get; }

    /// <summary>What the stage conditions read that can change between messages; null without a clock.</summary>
    internal StageClockPlan? StageClock { get; }

    /// <summary>Whether any condition reads <c>account.*</c>: only then do group messages of one lead affect another.</summary>
    internal bool UsesAccount { get; }

    /// <summary>Compiles a validated model.</summary>
    public static CompiledModel Compile(ScoringModel model, ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new CompiledModel(model, options ?? ModelLoadOptions.Default);
    }

    internal string? GradeOf(double value)
    {
        for (int i = 0; i < GradeMins.Length; i++)
        {
            if (GradeMins[i] <= value)
            {
                return GradeNames[i];
            }
        }

        return null;
    }

    private static int[] TopologicalComposites(ScoreSlot[] scores)
    {
        var order = new List<int>();
        var done = new bool[scores.Length];

        void Visit(int i)
        {
            if (done[i])
            {
                return;
            }

            done[i] = true;
            foreach (var (component, _) in scores[i].Components)
            {
                Visit(component);
            }

            if (scores[i].IsComposite)
            {
                order.Add(i);
            }
        }

        for (int i = 0; i < scores.Length; i++)
        {
            Visit(i);
        }

        return [.. order];
    }

    private sealed class ConditionCompiler(
        Dictionary<string, int> scoreIndex, List<string> occurred, Dictionary<string, int> occurredIndex,
        Dictionary<string, FieldPath> paths, TimeSpan regexTimeout)
    {
        public CompiledCondition Compile(Condition c) => c switch
        {
            AllCondition a => new AllNode([.. a.Conditions.Select(Compile)]),
            AnyCondition a => new AnyNode([.. a.Conditions.Select(Compile)]),
            NotCondition n => new NotNode(Compile(n.Condition)),
            OccurredCondition o => new OccurredNode([.. o.Events.Select(Occurred)], o.WithinDays is { } d ? Ticks.FromDays(d) : 0),
            FieldCondition f => new FieldNode(Path(f.Field), f.Operator, f.Value, regexTimeout),
            _ => throw new ArgumentException("unknown condition", nameof(c)),
        };

        private int Occurred(string name)
        {
            if (!occurredIndex.TryGetValue(name, out int i))
            {
                occurredIndex[name] = i = occurred.Count;
                occurred.Add(name);
            }

            return i;
        }

        public FieldPath Path(string field) => Intern(field, paths, scoreIndex);
    }

    internal static FieldPath Intern(string field, Dictionary<string, FieldPath> paths, Dictionary<string, int>? scoreIndex)
    {
        if (paths.TryGetValue(field, out var existing))
        {
            return existing;
        }

        var parts = field.Split('.');
        var root = parts[0] switch
        {
            "traits" => FieldRoot.Traits,
            "account" => FieldRoot.Account,
            "properties" => FieldRoot.Properties,
            "context" => FieldRoot.Context,
            "event" => FieldRoot.Event,
            "scores" => FieldRoot.Score,
            "grade" => FieldRoot.Grade,
            "persona" => FieldRoot.Persona,
            _ => FieldRoot.Stage,
        };
        int score = root == FieldRoot.Score && scoreIndex is not null ? scoreIndex[field[7..]] : -1;
        var path = new FieldPath(field, root, parts[1..], score);
        paths[field] = path;
        return path;
    }
}

/// <summary>Time arithmetic in ticks: days of 86,400 seconds.</summary>
internal static class Ticks
{
    public static long FromDays(double days) => (long)Math.Round(days * TimeSpan.TicksPerDay);

    public static double ToDays(long ticks) => ticks / (double)TimeSpan.TicksPerDay;
}

internal sealed class ScoreSlot
{
    public ScoreSlot(ScoreDefinition definition, Dictionary<string, int> index)
    {
        Definition = definition;
        Min = definition.Min ?? double.NegativeInfinity;
        Max = definition.Max ?? double.PositiveInfinity;
        Components = definition.IsComposite ? [.. definition.Sum.Select(kv => (index[kv.Key], kv.Value))] : [];
    }

    public ScoreDefinition Definition { get; }

    public double Min { get; }

    public double Max { get; }

    public bool IsComposite => Definition.IsComposite;

    public (int Score, double Weight)[] Components { get; }

    public double Clamp(double v) => v < Min ? Min : v > Max ? Max : v;
}

/// <summary>A rule compiled: its limit and prerequisite windows in ticks, its slice of the per-lead ring buffer.</summary>
internal sealed class CompiledRule
{
    public CompiledRule(int index, RuleDefinition definition, int scoreIndex, CompiledCondition? when, double? scoreHalfLife, StateLayout layout, Dictionary<string, FieldPath> paths)
    {
        Index = index;
        Definition = definition;
        ScoreIndex = scoreIndex;
        When = when;
        Points = definition.Points;
        PointsAreWhole = Math.Abs(Points) < 1e15 && Points == Math.Floor(Points);
        IsEvent = definition.IsEventRule;
        EventIndex = IsEvent ? layout.EventRules++ : -1;
        HalfLifeDays = definition.HalfLifeDays ?? scoreHalfLife ?? 0;
        ExpiresTicks = definition.ExpiresAfterDays is { } e ? Ticks.FromDays(e) : 0;
        KeepsAwardTimes = IsEvent && (HalfLifeDays > 0 || ExpiresTicks > 0);
        MinPoints = definition.MinPoints ?? double.NegativeInfinity;
        MaxPoints = definition.MaxPoints ?? double.PositiveInfinity;
        LimitRing = AfterRing = -1;
        if (definition.Limit is { } limit)
        {
            LimitCount = limit.Count;
            LimitWindowTicks = limit.PerDays is { } d ? Ticks.FromDays(d) : 0;
            LimitPer = limit.Per is null ? null : CompiledModel.Intern(limit.Per, paths, null);
            if (LimitWindowTicks > 0 && LimitPer is null)
            {
                LimitRing = layout.AddRing(LimitCount);
            }
        }

        if (definition.After is { } after && after.Count > 1)
        {
            AfterCount = after.Count;
            AfterWindowTicks = Ticks.FromDays(after.WithinDays);
            AfterRing = layout.AddRing(after.Count - 1);
        }
    }

    /// <summary>Index among event rules (their per-lead counters); -1 for a trait rule.</summary>
    public int EventIndex { get; }

    public bool PointsAreWhole { get; }

    public int Index { get; }

    public RuleDefinition Definition { get; }

    public int ScoreIndex { get; }

    public CompiledCondition? When { get; }

    public double Points { get; }

    public bool IsEvent { get; }

    public double HalfLifeDays { get; }

    public long ExpiresTicks { get; }

    /// <summary>Whether the share depends on award ages (decay or expiry), so each award's time is kept.</summary>
    public bool KeepsAwardTimes { get; }

    public double MinPoints { get; }

    public double MaxPoints { get; }

    /// <summary>0: no limit.</summary>
    public int LimitCount { get; }

    /// <summary>0: a lifetime limit.</summary>
    public long LimitWindowTicks { get; }

    public FieldPath? LimitPer { get; }

    /// <summary>Index of this rule's limit window among the lead's rings; -1 when it keeps none.</summary>
    public int LimitRing { get; }

    public int AfterCount { get; }

    public long AfterWindowTicks { get; }

    /// <summary>Index of this rule's prerequisite window among the lead's rings; -1 when it keeps none.</summary>
    public int AfterRing { get; }

    public double ClampShare(double share) => share < MinPoints ? MinPoints : share > MaxPoints ? MaxPoints : share;
}

/// <summary>
/// Lays out a lead's fixed-size state while rules compile: one counter pair per event rule, and one ring
/// of timestamps per window (a limit's last <c>k</c> awards, a prerequisite's last <c>n - 1</c> matches),
/// all rings in one flat <c>long[]</c> so a lead's state is a handful of arrays, whatever the model.
/// </summary>
internal sealed class StateLayout
{
    public int EventRules;
    public int RingSlots;
    public int Rings;
    public List<(int Offset, int Size)> RingSpans { get; } = [];

    public int AddRing(int size)
    {
        RingSpans.Add((RingSlots, size));
        RingSlots += size;
        return Rings++;
    }
}
