using System.Collections.Immutable;

namespace LeadScoring.Engine;

/// <summary>One rule's part in a lead's scores (spec section 5, <c>--explain</c>).</summary>
/// <param name="Rule">The rule id.</param>
/// <param name="Score">The score it adds to.</param>
/// <param name="Awards">Awards up to the as-of time, expired ones included (1 for a trait rule that holds).</param>
/// <param name="Suppressed">Candidates a <c>limit</c> stopped.</param>
/// <param name="Points">The rule's share of the score's raw value, after <c>minPoints</c>/<c>maxPoints</c>.</param>
public readonly record struct RuleContribution(string Rule, string Score, int Awards, int Suppressed, double Points);

/// <summary>A lead's scores at one instant, with the reasons (spec section 5). Immutable.</summary>
public sealed class LeadResult
{
    private readonly double[] _values;
    private readonly double[] _raw;

    internal LeadResult(
        string leadId, DateTimeOffset asOf, ImmutableArray<string> scoreNames, double[] values, double[] raw,
        string? grade, string? persona, string? stage, List<StageMove>? history, List<RuleContribution>? contributions, string modelVersion, string? latestMessageId = null)
    {
        LatestMessageId = latestMessageId;
        LeadId = leadId;
        AsOf = asOf;
        ScoreNames = scoreNames;
        _values = values;
        _raw = raw;
        Grade = grade;
        Persona = persona;
        Stage = stage;
        StageHistory = history is null ? [] : [.. history];
        Contributions = contributions is null ? [] : [.. contributions];
        HasExplanation = contributions is not null;
        ModelVersion = modelVersion;
    }

    /// <summary>The lead's id: its user id seen last, else its anonymous id (spec 2.2).</summary>
    public string LeadId { get; }

    /// <summary>The instant scored.</summary>
    public DateTimeOffset AsOf { get; }

    /// <summary>The score names, in model order.</summary>
    public ImmutableArray<string> ScoreNames { get; }

    /// <summary>The value of score <paramref name="name"/> (clamped).</summary>
    public double this[string name] => _values[IndexOf(name)];

    /// <summary>The value of the score at <paramref name="index"/> in <see cref="ScoreNames"/>.</summary>
    public double ValueAt(int index) => _values[index];

    /// <summary>The raw (unclamped) value of score <paramref name="name"/>: the sum of its rules' points.</summary>
    public double Raw(string name) => _raw[IndexOf(name)];

    /// <summary>The grade, or <see langword="null"/> where the model defines none.</summary>
    public string? Grade { get; }

    /// <summary>The persona, or <see langword="null"/> when none holds or the model defines none.</summary>
    public string? Persona { get; }

    /// <summary>The lifecycle stage, or <see langword="null"/> where the model defines none.</summary>
    public string? Stage { get; }

    /// <summary>Every stage move, oldest first.</summary>
    public ImmutableArray<StageMove> StageHistory { get; }

    /// <summary>The rules that fired, in model order; empty unless an explanation was asked for (see <see cref="HasExplanation"/>).</summary>
    public ImmutableArray<RuleContribution> Contributions { get; }

    /// <summary>Whether an explanation was asked for, so <see cref="Contributions"/> lists the rules that fired.</summary>
    public bool HasExplanation { get; }

    /// <summary>The id of the lead's latest message counted up to <see cref="AsOf"/>.</summary>
    public string? LatestMessageId { get; }

    /// <summary>The version of the model that scored.</summary>
    public string ModelVersion { get; }

    private int IndexOf(string name)
    {
        int i = ScoreNames.IndexOf(name);
        return i >= 0 ? i : throw new KeyNotFoundException($"The model has no score '{name}'.");
    }
}
