using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Tests.Regressions;

/// <summary>Bugs found by the scoring tests: account traits after a retried group message; scoring the past.</summary>
public class HistoryRegressionTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static DateTimeOffset Day(double d) => Start.AddDays(d);

    private static LeadScoringEngine Engine(string json, LeadScoringEngineOptions? options = null) =>
        new(CompiledModel.Compile(ScoringModelLoader.Load(json).GetModelOrThrow()), options);

    private const string AccountModel = """
        { "name": "acct", "version": "1", "scores": [ { "name": "fit" } ],
          "rules": [ { "id": "software", "score": "fit", "points": 10, "when": { "field": "account.industry", "op": "eq", "value": "software" } } ] }
        """;

    [Fact]
    public void EarlierCopyOfAGroupMessage_ArrivingSecond_MovesTheAccountTraitsToItsTime()
    {
        var engine = Engine(AccountModel);
        engine.Apply(LeadMessage.Identify("i-2", "u2", Day(0)));
        engine.Apply(LeadMessage.Group("g-2", "u2", "acme", Day(0)));
        engine.Apply(LeadMessage.Group("g-1", "u1", "acme", Day(10), new Dictionary<string, object?> { ["industry"] = "software" }));
        engine.Apply(LeadMessage.Group("g-1", "u1", "acme", Day(5), new Dictionary<string, object?> { ["industry"] = "software" }));

        engine.Evaluate("u1", Day(7))!["fit"].Should().Be(10, "the earliest copy (day 5) counts");
        engine.Evaluate("u2", Day(7))!["fit"].Should().Be(10, "another member reads the account's traits from day 5 too");
        engine.Evaluate("u2", Day(4))!["fit"].Should().Be(0);
    }

    private const string DemoModel = """
        { "name": "demo", "version": "1", "scores": [ { "name": "e" } ],
          "rules": [ { "id": "demo", "score": "e", "points": 10, "on": "Demo Requested" } ] }
        """;

    [Fact]
    public void ScoringThePast_IsExact_FromTheLeadsHistory()
    {
        var engine = Engine(DemoModel);
        foreach (int day in new[] { 0, 40, 80, 120 })
        {
            engine.Apply(LeadMessage.Track($"d{day}", "u1", "Demo Requested", Day(day)));
        }

        engine.Evaluate("u1", Day(50))!["e"].Should().Be(20);
    }
}
