using System.Collections.Immutable;

namespace LeadScoring.Model;

/// <summary>
/// A validated scoring model: the document of spec section 3 as immutable objects.
/// Obtain one from <see cref="ScoringModelLoader"/> or <see cref="ScoringModelBuilder"/>; both validate
/// the whole document, so an instance is always valid. Instances are immutable and thread-safe.
/// </summary>
public sealed class ScoringModel
{
    internal ScoringModel(
        string name,
        string version,
        string? description,
        ImmutableArray<ScoreDefinition> scores,
        ImmutableArray<RuleDefinition> rules,
        GradeDefinition? grade,
        ImmutableArray<PersonaDefinition> personas,
        ImmutableArray<StageDefinition> stages,
        int? stageCheckHours = null,
        OutcomeDefinition? outcome = null)
    {
        Name = name;
        Version = version;
        Description = description;
        Scores = scores;
        Rules = rules;
        Grade = grade;
        Personas = personas;
        Stages = stages;
        StageCheckHours = stageCheckHours;
        Outcome = outcome;
    }

    /// <summary>The stage clock's period when the model does not state <c>stageCheckHours</c>: 24 hours, every midnight UTC.</summary>
    public const int DefaultStageCheckHours = 24;

    /// <summary>The largest <c>stageCheckHours</c> a model may state: 8,760 hours (365 days).</summary>
    public const int MaxStageCheckHours = 8760;

    /// <summary>The model's name, e.g. <c>acme-b2b</c>.</summary>
    public string Name { get; }

    /// <summary>The model's version, e.g. <c>2026.11.1</c>; reported with every score change.</summary>
    public string Version { get; }

    /// <summary>Free text for the people who maintain the model; never read by the engine.</summary>
    public string? Description { get; }

    /// <summary>The scores, in document order (the order of the output).</summary>
    public ImmutableArray<ScoreDefinition> Scores { get; }

    /// <summary>The rules, in document order.</summary>
    public ImmutableArray<RuleDefinition> Rules { get; }

    /// <summary>The grade bands, or <see langword="null"/> where the model defines none.</summary>
    public GradeDefinition? Grade { get; }

    /// <summary>The personas, first match wins.</summary>
    public ImmutableArray<PersonaDefinition> Personas { get; }

    /// <summary>The lifecycle stages, lowest first.</summary>
    public ImmutableArray<StageDefinition> Stages { get; }

    /// <summary>
    /// <c>stageCheckHours</c> as the document states it (spec 3.4, the stage clock), or <see langword="null"/> where
    /// it is not stated and <see cref="DefaultStageCheckHours"/> applies. <c>0</c> turns the clock off.
    /// </summary>
    public int? StageCheckHours { get; }

    /// <summary>
    /// The stage clock's period in hours as the engine runs it: a tick at every multiple of it after
    /// 1970-01-01T00:00:00Z. <c>0</c> where the clock is off: turned off by <c>"stageCheckHours": 0</c>, or a model
    /// without stages (it has no clock).
    /// </summary>
    public int EffectiveStageCheckHours => Stages.IsDefaultOrEmpty ? 0 : StageCheckHours ?? DefaultStageCheckHours;

    /// <summary>The outcome the model predicts (the track event that counts as a conversion), or <see langword="null"/>; read by the model lab only, never by the engine.</summary>
    public OutcomeDefinition? Outcome { get; }

    /// <summary>Writes the model back as a canonical JSON document (no <c>$schema</c>, keys in schema order).</summary>
    public string ToJson(bool indented = false) => ModelJsonWriter.Write(this, indented);

    /// <inheritdoc />
    public override string ToString() => $"{Name} {Version}";
}

/// <summary>A named score (spec 3.1): a plain score fed by rules, or a composite (<see cref="Sum"/>).</summary>
public sealed class ScoreDefinition
{
    internal ScoreDefinition(string name, double? min, double? max, double? halfLifeDays, ImmutableArray<KeyValuePair<string, double>> sum, string? description)
    {
        Name = name;
        Min = min;
        Max = max;
        HalfLifeDays = halfLifeDays;
        Sum = sum;
        Description = description;
    }

    /// <summary>The unique name, used as <c>scores.&lt;name&gt;</c> in conditions and as the output key.</summary>
    public string Name { get; }

    /// <summary>Lower clamp of the value, if any.</summary>
    public double? Min { get; }

    /// <summary>Upper clamp of the value, if any.</summary>
    public double? Max { get; }

    /// <summary>Half-life in days of the awards of this score's event rules; <see langword="null"/>: no decay.</summary>
    public double? HalfLifeDays { get; }

    /// <summary>Weights over other scores for a composite; empty (default) for a plain score.</summary>
    public ImmutableArray<KeyValuePair<string, double>> Sum { get; }

    /// <summary>Whether this score is a composite (it has <see cref="Sum"/> and no rules).</summary>
    public bool IsComposite => !Sum.IsDefault;

    /// <summary>Free text; never read by the engine.</summary>
    public string? Description { get; }
}

/// <summary>A rule (spec 3.2): a trait rule when <see cref="On"/> is empty, else an event rule.</summary>
public sealed class RuleDefinition
{
    internal RuleDefinition(
        string id, string score, double points, string? description, Condition? when, ImmutableArray<string> on,
        RuleLimit? limit, RuleAfter? after, double? halfLifeDays, double? expiresAfterDays, double? maxPoints, double? minPoints)
    {
        Id = id;
        Score = score;
        Points = points;
        Description = description;
        When = when;
        _on = on;
        Limit = limit;
        After = after;
        HalfLifeDays = halfLifeDays;
        ExpiresAfterDays = expiresAfterDays;
        MaxPoints = maxPoints;
        MinPoints = minPoints;
    }

    /// <summary>The unique id, reported in explanations.</summary>
    public string Id { get; }

    /// <summary>The name of the (non-composite) score the rule adds to.</summary>
    public string Score { get; }

    /// <summary>Points per award (event rule) or while the rule holds (trait rule); may be negative.</summary>
    public double Points { get; }

    /// <summary>Free text; never read by the engine.</summary>
    public string? Description { get; }

    /// <summary>The condition, or <see langword="null"/> for "always".</summary>
    public Condition? When { get; }

    /// <summary>Track event names or <c>$page</c>; empty for a trait rule.</summary>
    public ImmutableArray<string> On => _on.IsDefault ? [] : _on;

    private readonly ImmutableArray<string> _on;

    /// <summary>Whether this is an event rule (it has <c>on</c>).</summary>
    public bool IsEventRule => !_on.IsDefault;

    /// <summary>The frequency cap, if any.</summary>
    public RuleLimit? Limit { get; }

    /// <summary>The "n matches within d days" prerequisite, if any.</summary>
    public RuleAfter? After { get; }

    /// <summary>Half-life in days overriding the score's; <see langword="null"/>: the score's.</summary>
    public double? HalfLifeDays { get; }

    /// <summary>An award counts only while it is younger than this many days.</summary>
    public double? ExpiresAfterDays { get; }

    /// <summary>Upper clamp of the rule's whole share of its score.</summary>
    public double? MaxPoints { get; }

    /// <summary>Lower clamp of the rule's whole share of its score.</summary>
    public double? MinPoints { get; }
}

/// <summary>A rule's frequency cap: at most <see cref="Count"/> awards per window (or per lifetime), optionally per field value.</summary>
/// <param name="Count">Maximum awards, at least 1.</param>
/// <param name="PerDays">Trailing window in days; <see langword="null"/>: the lead's whole life.</param>
/// <param name="Per">A <c>properties.*</c> or <c>context.*</c> path whose values are counted apart.</param>
public sealed record RuleLimit(int Count, double? PerDays, string? Per);

/// <summary>A rule's prerequisite: the message must be at least the <see cref="Count"/>-th match within <see cref="WithinDays"/>.</summary>
/// <param name="Count">The n of "the n-th matching message", at least 1.</param>
/// <param name="WithinDays">The trailing window in days.</param>
public sealed record RuleAfter(int Count, double WithinDays);

/// <summary>Grade bands over one score (spec 3.4).</summary>
/// <param name="Score">The score graded.</param>
/// <param name="Bands">The bands, highest first; the last has no minimum.</param>
public sealed record GradeDefinition(string Score, ImmutableArray<GradeBand> Bands);

/// <summary>One grade band.</summary>
/// <param name="Grade">The grade's label, e.g. <c>A</c>.</param>
/// <param name="Min">The minimum value (inclusive); <see langword="null"/> on the last band only.</param>
public sealed record GradeBand(string Grade, double? Min);

/// <summary>A persona: the first whose condition holds on the lead's traits.</summary>
/// <param name="Name">The persona's name.</param>
/// <param name="When">Its condition over <c>traits.*</c> and <c>account.*</c>.</param>
/// <param name="Description">Free text.</param>
public sealed record PersonaDefinition(string Name, Condition When, string? Description = null);

/// <summary>A lifecycle stage (spec 3.4).</summary>
/// <param name="Name">The stage's name.</param>
/// <param name="Enter">When the lead moves up into it; <see langword="null"/> only on the first stage.</param>
/// <param name="Exit">When the lead leaves it downwards; <see langword="null"/>: never left downwards.</param>
/// <param name="Description">Free text.</param>
public sealed record StageDefinition(string Name, Condition? Enter, Condition? Exit, string? Description = null);

/// <summary>The outcome a model predicts (top-level <c>outcome</c>): a conversion is a track event named <see cref="Event"/>.</summary>
/// <param name="Event">The track event name of a conversion, compared case-insensitively like a rule's <c>on</c>.</param>
/// <param name="WithinDays">A lead scored at <c>T</c> is positive when the event happens in <c>(T, T + WithinDays]</c>; default 90.</param>
public sealed record OutcomeDefinition(string Event, double WithinDays = 90);
