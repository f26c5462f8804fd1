using System.Collections.Immutable;

namespace LeadScoring.Model;

/// <summary>
/// Builds a <see cref="ScoringModel"/> in code, for hosts that keep their model code-first. <see cref="Build"/>
/// validates exactly as the JSON loader does (the built model is written as its document and read back), so
/// a built model and the same model loaded from JSON are indistinguishable.
/// </summary>
/// <example>
/// <code>
/// var model = new ScoringModelBuilder("acme-b2b", "2026.11.1")
///     .AddScore("fit", min: 0, max: 100)
///     .AddScore("engagement", halfLifeDays: 30)
///     .AddComposite("total", ("fit", 1), ("engagement", 1))
///     .AddTraitRule("senior-title", "fit", 20, When.Field("traits.title").ContainsAny("VP", "Director"))
///     .AddEventRule("demo-request", "engagement", 40, on: ["Demo Requested"])
///     .Build();
/// </code>
/// </example>
public sealed class ScoringModelBuilder
{
    private readonly string _name;
    private readonly string _version;
    private readonly List<ScoreDefinition> _scores = [];
    private readonly List<RuleDefinition> _rules = [];
    private readonly List<PersonaDefinition> _personas = [];
    private readonly List<StageDefinition> _stages = [];
    private int? _stageCheckHours;
    private GradeDefinition? _grade;
    private string? _description;
    private OutcomeDefinition? _outcome;

    /// <summary>Starts a model with its name and version.</summary>
    public ScoringModelBuilder(string name, string version)
    {
        _name = name ?? throw new ArgumentNullException(nameof(name));
        _version = version ?? throw new ArgumentNullException(nameof(version));
    }

    /// <summary>Sets the model's description.</summary>
    public ScoringModelBuilder WithDescription(string description)
    {
        _description = description;
        return this;
    }

    /// <summary>Adds a plain score.</summary>
    public ScoringModelBuilder AddScore(string name, double? min = null, double? max = null, double? halfLifeDays = null, string? description = null)
    {
        _scores.Add(new ScoreDefinition(name, min, max, halfLifeDays, default, description));
        return this;
    }

    /// <summary>Adds a composite score: the weighted sum of other scores.</summary>
    public ScoringModelBuilder AddComposite(string name, params (string Score, double Weight)[] weights) =>
        AddComposite(name, null, null, weights);

    /// <summary>Adds a composite score with clamps.</summary>
    public ScoringModelBuilder AddComposite(string name, double? min, double? max, params (string Score, double Weight)[] weights)
    {
        _scores.Add(new ScoreDefinition(name, min, max, null, weights.Select(w => new KeyValuePair<string, double>(w.Score, w.Weight)).ToImmutableArray(), null));
        return this;
    }

    /// <summary>Adds a trait rule: <paramref name="points"/> while <paramref name="when"/> holds on the lead.</summary>
    public ScoringModelBuilder AddTraitRule(string id, string score, double points, Condition? when, string? description = null)
    {
        _rules.Add(new RuleDefinition(id, score, points, description, when, default, null, null, null, null, null, null));
        return this;
    }

    /// <summary>Adds an event rule: an award of <paramref name="points"/> per matching message.</summary>
    /// <param name="id">The rule's unique id.</param>
    /// <param name="score">The score it adds to.</param>
    /// <param name="points">Points per award.</param>
    /// <param name="on">Track event names, or <c>$page</c>.</param>
    /// <param name="when">An optional condition on the message and the lead.</param>
    /// <param name="limit">An optional frequency cap.</param>
    /// <param name="after">An optional "n matches within d days" prerequisite.</param>
    /// <param name="halfLifeDays">Overrides the score's half-life.</param>
    /// <param name="expiresAfterDays">Awards older than this stop counting.</param>
    /// <param name="maxPoints">Upper clamp of the rule's share.</param>
    /// <param name="minPoints">Lower clamp of the rule's share.</param>
    /// <param name="description">Free text.</param>
    public ScoringModelBuilder AddEventRule(
        string id, string score, double points, IEnumerable<string> on, Condition? when = null, RuleLimit? limit = null, RuleAfter? after = null,
        double? halfLifeDays = null, double? expiresAfterDays = null, double? maxPoints = null, double? minPoints = null, string? description = null)
    {
        _rules.Add(new RuleDefinition(id, score, points, description, when, on.ToImmutableArray(), limit, after, halfLifeDays, expiresAfterDays, maxPoints, minPoints));
        return this;
    }

    /// <summary>Sets the grade bands over <paramref name="score"/>, highest first; the last band has no minimum.</summary>
    public ScoringModelBuilder WithGrade(string score, params (string Grade, double? Min)[] bands)
    {
        _grade = new GradeDefinition(score, bands.Select(b => new GradeBand(b.Grade, b.Min)).ToImmutableArray());
        return this;
    }

    /// <summary>Adds a persona (first match wins).</summary>
    public ScoringModelBuilder AddPersona(string name, Condition when, string? description = null)
    {
        _personas.Add(new PersonaDefinition(name, when, description));
        return this;
    }

    /// <summary>Adds a stage above the ones already added; the first has no <paramref name="enter"/>.</summary>
    public ScoringModelBuilder AddStage(string name, Condition? enter = null, Condition? exit = null, string? description = null)
    {
        _stages.Add(new StageDefinition(name, enter, exit, description));
        return this;
    }

    /// <summary>
    /// States the stage clock's period (spec 3.4, <c>stageCheckHours</c>): a whole number of hours from 0 to 8,760;
    /// <c>0</c> turns the clock off. Without it the model has the default of 24 hours (every midnight UTC).
    /// Checked by <see cref="Build"/>.
    /// </summary>
    public ScoringModelBuilder WithStageCheckHours(int hours)
    {
        _stageCheckHours = hours;
        return this;
    }

    /// <summary>Sets the outcome the model predicts: a track event named <paramref name="eventName"/> within <paramref name="withinDays"/> days of the as-of time.</summary>
    public ScoringModelBuilder WithOutcome(string eventName, double withinDays = 90)
    {
        _outcome = new OutcomeDefinition(eventName, withinDays);
        return this;
    }

    /// <summary>Validates and returns the model; throws <see cref="ModelValidationException"/> listing every error.</summary>
    public ScoringModel Build(ModelLoadOptions? options = null)
    {
        var draft = new ScoringModel(_name, _version, _description, [.. _scores], [.. _rules], _grade, [.. _personas], [.. _stages], _stageCheckHours, _outcome);
        return ScoringModelLoader.Load(draft.ToJson(), options).GetModelOrThrow("(built in code)");
    }
}

/// <summary>Factory of conditions for <see cref="ScoringModelBuilder"/>: <c>When.Field("traits.title").Contains("VP")</c>.</summary>
public static class When
{
    /// <summary>Starts a leaf condition on <paramref name="field"/>.</summary>
    public static FieldConditionBuilder Field(string field) => new(field);

    /// <summary>Holds when every condition holds.</summary>
    public static Condition All(params Condition[] conditions) => new AllCondition([.. conditions]);

    /// <summary>Holds when any condition holds.</summary>
    public static Condition Any(params Condition[] conditions) => new AnyCondition([.. conditions]);

    /// <summary>Holds when <paramref name="condition"/> does not.</summary>
    public static Condition Not(Condition condition) => new NotCondition(condition);

    /// <summary>Holds when a track message named one of <paramref name="events"/> occurred (within <paramref name="withinDays"/>).</summary>
    public static Condition Occurred(string[] events, double? withinDays = null) => new OccurredCondition([.. events], withinDays);

    /// <summary>Holds when a track message named <paramref name="eventName"/> occurred (within <paramref name="withinDays"/>).</summary>
    public static Condition Occurred(string eventName, double? withinDays = null) => new OccurredCondition([eventName], withinDays);
}

/// <summary>Completes a leaf condition with its operator and operand.</summary>
public readonly struct FieldConditionBuilder
{
    private readonly string _field;

    internal FieldConditionBuilder(string field) => _field = field;

    /// <summary>Any operator with a literal operand (string, number, bool, or an array of those), or none.</summary>
    public Condition Is(ConditionOperator op, object? value = null) => new FieldCondition(_field, op, value is null ? null : ModelValue.From(value));

    /// <summary><c>eq</c>.</summary>
    public Condition Eq(object value) => Is(ConditionOperator.Eq, value);

    /// <summary><c>ne</c>.</summary>
    public Condition Ne(object value) => Is(ConditionOperator.Ne, value);

    /// <summary><c>in</c>.</summary>
    public Condition In(params object[] values) => Is(ConditionOperator.In, values);

    /// <summary><c>notIn</c>.</summary>
    public Condition NotIn(params object[] values) => Is(ConditionOperator.NotIn, values);

    /// <summary><c>contains</c>.</summary>
    public Condition Contains(string value) => Is(ConditionOperator.Contains, value);

    /// <summary><c>notContains</c>.</summary>
    public Condition NotContains(string value) => Is(ConditionOperator.NotContains, value);

    /// <summary><c>containsAny</c>.</summary>
    public Condition ContainsAny(params string[] values) => Is(ConditionOperator.ContainsAny, values);

    /// <summary><c>startsWith</c>.</summary>
    public Condition StartsWith(string value) => Is(ConditionOperator.StartsWith, value);

    /// <summary><c>startsWithAny</c>.</summary>
    public Condition StartsWithAny(params string[] values) => Is(ConditionOperator.StartsWithAny, values);

    /// <summary><c>endsWith</c>.</summary>
    public Condition EndsWith(string value) => Is(ConditionOperator.EndsWith, value);

    /// <summary><c>endsWithAny</c>.</summary>
    public Condition EndsWithAny(params string[] values) => Is(ConditionOperator.EndsWithAny, values);

    /// <summary><c>gt</c>.</summary>
    public Condition Gt(object value) => Is(ConditionOperator.Gt, value);

    /// <summary><c>gte</c>.</summary>
    public Condition Gte(object value) => Is(ConditionOperator.Gte, value);

    /// <summary><c>lt</c>.</summary>
    public Condition Lt(object value) => Is(ConditionOperator.Lt, value);

    /// <summary><c>lte</c>.</summary>
    public Condition Lte(object value) => Is(ConditionOperator.Lte, value);

    /// <summary><c>between</c>, inclusive.</summary>
    public Condition Between(double low, double high) => Is(ConditionOperator.Between, new object[] { low, high });

    /// <summary><c>exists</c>.</summary>
    public Condition Exists() => Is(ConditionOperator.Exists);

    /// <summary><c>notExists</c>.</summary>
    public Condition NotExists() => Is(ConditionOperator.NotExists);

    /// <summary><c>matches</c>: a regular expression run without backtracking, case-insensitively.</summary>
    public Condition Matches(string pattern) => Is(ConditionOperator.Matches, pattern);
}
