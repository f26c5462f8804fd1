using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Tests.Engine;

/// <summary>
/// Flat rows keep their counters in 16 bits while every value fits, and move every row to 32 bits when one reaches
/// 65,535. A lead with more awards (or suppressed candidates) than 16 bits hold still counts each one, on the in-order
/// path and on the general path (a full state stored back into the row), and the other leads keep theirs.
/// </summary>
public sealed class CellWidthTests
{
    private const int Many = 70_000; // more than ushort.MaxValue
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static LeadMessage Track(string id, string user, string name, int second, string? anonymous = null) =>
        LeadMessage.Track(id, user, name, T0.AddSeconds(second), null, anonymous);

    private static RuleContribution Rule(LeadResult lead, string id) => lead.Contributions.Single(c => c.Rule == id);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CountersBeyond16Bits_AreKeptExactly(bool generalPath)
    {
        var engine = new LeadScoringEngine(FlatStreams.Model, new LeadScoringEngineOptions { ReorderHorizon = null });
        engine.UsesFlatRows.Should().BeTrue();
        engine.Apply(Track("other-1", "other", "Email Clicked", 0));

        // With an anonymous id on every message, each one takes the general path: loaded into a full state, applied,
        // stored back into the row (where the count first passes 16 bits).
        string? anonymous = generalPath ? "anon-1" : null;
        for (int i = 0; i < Many; i++)
        {
            engine.Apply(Track("c" + i, "u1", "Email Clicked", (2 * i) + 1, anonymous)).Should().Be(ApplyOutcome.Applied);
            engine.Apply(Track("x" + i, "u1", "Unsubscribed", (2 * i) + 2, anonymous)).Should().Be(ApplyOutcome.Applied);
        }

        engine.Apply(Track("other-2", "other", "Email Clicked", (2 * Many) + 1));

        var asOf = T0.AddSeconds((2 * Many) + 2);
        var lead = engine.Evaluate("u1", asOf, explain: true)!;
        Rule(lead, "E09_email_click").Should().Be(new RuleContribution("E09_email_click", "engagement", Many, 0, 3.0 * Many));
        Rule(lead, "E11_unsubscribe").Should().Be(new RuleContribution("E11_unsubscribe", "engagement", 1, Many - 1, -50));

        var other = engine.Evaluate("other", asOf, explain: true)!;
        Rule(other, "E09_email_click").Awards.Should().Be(2, "the other lead's counters survive the move to 32 bits");

        // The wide counters survive an export and an import into an engine that starts narrow.
        var copy = new LeadScoringEngine(FlatStreams.Model, new LeadScoringEngineOptions { ReorderHorizon = null });
        copy.ImportLead(engine.ExportLead("u1")!);
        Rule(copy.Evaluate("u1", asOf, explain: true)!, "E11_unsubscribe").Suppressed.Should().Be(Many - 1);
    }
}
