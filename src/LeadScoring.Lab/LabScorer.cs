using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Lab;

/// <summary>
/// The one place where the model lab calls the engine: scores every lead as of an instant, from its messages up to
/// that instant. Messages with a timestamp after <c>asOf</c> are never applied, which is how an outcome event that
/// happens after the as-of time can never add to a score.
/// </summary>
public static class LabScorer
{
    /// <summary>
    /// Scores every lead that has a message at or before <paramref name="asOf"/>, ordered by lead id (ordinal).
    /// </summary>
    /// <param name="model">The compiled model.</param>
    /// <param name="messages">All messages; those after <paramref name="asOf"/> are skipped.</param>
    /// <param name="asOf">The as-of time <c>T</c>.</param>
    /// <param name="explain">Whether each result carries its rule contributions.</param>
    public static IReadOnlyList<LeadResult> ScoreAt(CompiledModel model, IEnumerable<LeadMessage> messages, DateTimeOffset asOf, bool explain)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(messages);
        var engine = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = null });
        long limit = asOf.UtcTicks;
        foreach (var m in messages)
        {
            if (m.TimestampTicks <= limit)
            {
                engine.Apply(m);
            }
        }

        var results = engine.EvaluateAll(asOf, explain).ToList();
        results.Sort((a, b) => string.CompareOrdinal(a.LeadId, b.LeadId));
        return results;
    }
}
