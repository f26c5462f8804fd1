using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>What <see cref="LeadScorer.ApplyJson"/> did with one line of JSON.</summary>
public readonly struct JsonApplyResult
{
    internal JsonApplyResult(ApplyOutcome outcome, string? error, string? ignoredType)
    {
        Outcome = outcome;
        Error = error;
        IgnoredType = ignoredType;
    }

    /// <summary>What was done with the message; meaningful only when <see cref="IsApplied"/>.</summary>
    public ApplyOutcome Outcome { get; }

    /// <summary>Why the message was rejected (the same reasons as <see cref="MessageParser"/>), or null.</summary>
    public string? Error { get; }

    /// <summary>The type of a valid message the scorer ignores (e.g. <c>screen</c>), or null.</summary>
    public string? IgnoredType { get; }

    /// <summary>Whether the message was rejected.</summary>
    public bool IsRejected => Error is not null;

    /// <summary>Whether the message is of an ignored type.</summary>
    public bool IsIgnored => IgnoredType is not null;

    /// <summary>Whether the message reached its lead (see <see cref="Outcome"/>).</summary>
    public bool IsApplied => Error is null && IgnoredType is null;
}

/// <summary>
/// The fast scorer for streams that arrive in order, such as a log replayed from disk or a live feed: one flat
/// row per lead, no message journal, no snapshots. Applying an in-order message allocates nothing and costs about
/// as much as hand-written code for the same rules. A late message (older than its lead's latest) is applied as it
/// comes and counted as <see cref="ApplyOutcome.BeyondHorizon"/>: the scorer behaves like a
/// <see cref="LeadScoringEngine"/> with a zero reorder horizon. Use <see cref="LeadScoringEngine"/> when arrival
/// order must not matter. Not thread-safe; the <see cref="CompiledModel"/> may be shared.
/// </summary>
public sealed class LeadScorer
{
    private readonly LeadScoringEngine _engine;

    /// <summary>Creates a scorer for a compiled model.</summary>
    public LeadScorer(CompiledModel model)
    {
        Model = model ?? throw new ArgumentNullException(nameof(model));
        _engine = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = TimeSpan.Zero });
    }

    /// <summary>The compiled model.</summary>
    public CompiledModel Model { get; }

    /// <summary>The scorer's counters.</summary>
    public EngineStatistics Statistics => _engine.Statistics;

    /// <summary>How many leads the scorer holds.</summary>
    public int LeadCount => _engine.LeadCount;

    /// <summary>Applies one message to its lead.</summary>
    public ApplyOutcome Apply(LeadMessage message) => _engine.Apply(message);

    /// <summary>
    /// Parses one Segment message from UTF-8 JSON (one line of a JSON Lines file) and applies it. A message that
    /// cannot be used is not applied: the result carries the reason.
    /// </summary>
    public JsonApplyResult ApplyJson(ReadOnlySpan<byte> utf8Json)
    {
        var parsed = MessageParser.Parse(utf8Json);
        if (parsed.Message is { } m)
        {
            return new JsonApplyResult(Apply(m), null, null);
        }

        return new JsonApplyResult(ApplyOutcome.Applied, parsed.Error, parsed.IgnoredType);
    }

    /// <summary>Evaluates the lead known by <paramref name="leadId"/> at <paramref name="asOf"/>; null when unknown.</summary>
    public LeadResult? Evaluate(string leadId, DateTimeOffset asOf, bool explain = false) => _engine.Evaluate(leadId, asOf, explain);

    /// <summary>Evaluates every lead at <paramref name="asOf"/>, ordered by lead id (ordinal).</summary>
    public IEnumerable<LeadResult> EvaluateAll(DateTimeOffset asOf, bool explain = false) => _engine.EvaluateAll(asOf, explain);

    /// <summary>
    /// The value of score <paramref name="scoreIndex"/> (an index into <see cref="CompiledModel.ScoreNames"/>) of the
    /// lead known by <paramref name="leadId"/> at <paramref name="asOf"/>, without building a <see cref="LeadResult"/>.
    /// </summary>
    /// <returns>False when the lead is unknown.</returns>
    public bool TryGetScore(string leadId, int scoreIndex, DateTimeOffset asOf, out double value)
    {
        var r = _engine.Evaluate(leadId, asOf);
        value = r?.ValueAt(scoreIndex) ?? 0;
        return r is not null;
    }
}
