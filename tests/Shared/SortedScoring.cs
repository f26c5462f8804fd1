using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Tests.Shared;

/// <summary>
/// Batch scoring as the engine defines it: the messages up to the as-of time, sorted into spec 2.3 order, applied in
/// order through one engine. Tests of adapters (hosting, stores, samples) compare with it; the engine itself is
/// compared with the independent reference scorer in tests/LeadScoring.Reference.
/// </summary>
internal static class SortedScoring
{
    public static IReadOnlyList<LeadResult> Score(CompiledModel model, IEnumerable<LeadMessage> messages, DateTimeOffset asOf, bool explain = false)
    {
        var engine = new LeadScoringEngine(model);
        foreach (var m in messages.Where(m => m.TimestampTicks <= asOf.UtcTicks).Order(Comparer<LeadMessage>.Create(LeadMessage.CompareOrder)))
        {
            engine.Apply(m);
        }

        return [.. engine.EvaluateAll(asOf, explain)];
    }
}
