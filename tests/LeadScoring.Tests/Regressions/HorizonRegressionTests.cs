using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Tests.Regressions;

/// <summary>Bugs of the reorder horizon (a lead's older messages folded into a base state) found by the property tests.</summary>
public class HorizonRegressionTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private const string DemoModel = """
        { "name": "demo", "version": "1", "scores": [ { "name": "e" } ],
          "rules": [ { "id": "demo", "score": "e", "points": 10, "on": "Demo Requested" } ] }
        """;

    private static LeadScoringEngine Engine(TimeSpan? horizon) =>
        new(CompiledModel.Compile(ScoringModelLoader.Load(DemoModel).GetModelOrThrow()), new LeadScoringEngineOptions { ReorderHorizon = horizon });

    // Found by comparing the batch apply with one call a message under a 39-day horizon (CsCheck seed 1WaaVKZSgr94): a
    // message under another of the lead's user ids, at the same time as the lead's latest message and after it by id
    // (spec 2.3), was kept before it was applied; keeping it folded the lead, and the fold's steps on the base row left
    // the lead's latest id to be read from its list, whose head was already the message itself. It then no longer came
    // after the latest, and the lead kept the user id of the message before it. Each count of earlier messages puts the
    // fold at another message; one of them at the tied one.
    [Theory]
    [InlineData(11)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(10)]
    [InlineData(14)]
    [InlineData(15)]
    public void A_message_tied_in_time_with_the_latest_under_another_user_id_of_the_lead_gives_it_its_user_id_when_keeping_it_folds_the_lead(int earlier)
    {
        var messages = new List<LeadMessage>();
        for (int k = 0; k < earlier; k++)
        {
            messages.Add(LeadMessage.Track($"m-{k:00}", "u-a", "Demo Requested", Start.AddDays(k)));
        }

        var last = Start.AddDays(earlier + 1);
        messages.Add(LeadMessage.Alias("m-50", "u-b", "u-a", Start.AddDays(earlier)));
        messages.Add(LeadMessage.Track("m-60", "u-b", "Demo Requested", last));
        messages.Add(LeadMessage.Track("m-61", "u-a", "Demo Requested", last)); // the same time, a later id: the latest

        var folding = Engine(TimeSpan.FromDays(1));
        var exact = Engine(null);
        foreach (var m in messages)
        {
            folding.Apply(m).Should().Be(ApplyOutcome.Applied, m.MessageId);
            exact.Apply(m).Should().Be(ApplyOutcome.Applied, m.MessageId);
        }

        folding.FoldedLeads.Leads.Should().Be(1, "the lead folded its older messages");
        exact.LeadIds().Should().Equal(["u-a"], "the latest message (spec 2.3) is m-61, under u-a");
        folding.LeadIds().Should().Equal(["u-a"], "folding does not change which message is the latest");
        folding.Evaluate("u-b", last)!.LeadId.Should().Be("u-a");
        folding.Evaluate("u-b", last)!["e"].Should().Be(exact.Evaluate("u-a", last)!["e"]);
    }
}
