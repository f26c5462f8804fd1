using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;
using static LeadScoring.Tests.Model.ModelDocuments;

namespace LeadScoring.Tests.Regressions;

/// <summary>Issue 14, rows 2 and 3: validation refuses limit and after counts the engine cannot keep a window for.</summary>
public class ModelCountBoundTests
{
    [Theory]
    [InlineData("limit", "2147483647")]
    [InlineData("after", "2147483647")]
    [InlineData("limit", "1000000")]
    [InlineData("after", "10001")]
    public void A_limit_or_after_count_above_10000_is_refused_at_its_path(string owner, string count)
    {
        string find = owner == "limit" ? "\"limit\": { \"count\": 3" : "\"after\": { \"count\": 2";
        string json = Minimal.With(find, $"\"{owner}\": {{ \"count\": {count}");

        var result = ScoringModelLoader.Load(json);

        result.IsValid.Should().BeFalse();
        var error = result.Errors.Should().ContainSingle().Subject;
        error.Path.Should().Be($"$.rules[1].{owner}.count");
        error.Message.Should().Be($"rule 'pricing-page': '{owner}': 'count' must be at most 10000, not {count}");
    }

    [Fact]
    public void A_limit_count_of_exactly_10000_is_accepted()
    {
        string json = Minimal.With("\"limit\": { \"count\": 3", "\"limit\": { \"count\": 10000");

        ScoringModelLoader.Load(json).IsValid.Should().BeTrue();
    }

    [Fact]
    public void Window_storage_grows_with_use_not_with_the_count()
    {
        // Row 3: every lead used to get long[sum of the counts] up front (here 3 windows of 10,000: 240 KB a lead).
        // A lead holds only the times it used: 2,000 leads with 3 messages each need a few bytes a window.
        const string json = """
            {
              "name": "big-windows", "version": "1",
              "scores": [ { "name": "engagement" } ],
              "rules": [
                { "id": "demo", "score": "engagement", "points": 5, "on": "Demo Requested", "limit": { "count": 10000, "perDays": 7 } },
                { "id": "email", "score": "engagement", "points": 1, "on": "Email Clicked", "limit": { "count": 10000, "perDays": 7, "per": "properties.emailId" } },
                { "id": "burst", "score": "engagement", "points": 2, "on": "Demo Requested", "after": { "count": 10000, "withinDays": 7 } }
              ]
            }
            """;
        var model = CompiledModel.Compile(ScoringModelLoader.Load(json).GetModelOrThrow());
        var start = new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
        var messages = new List<LeadMessage>();
        for (int lead = 0; lead < 2_000; lead++)
        {
            for (int i = 0; i < 3; i++)
            {
                messages.Add(LeadMessage.Track($"m-{lead}-{i}", $"user-{lead}", "Demo Requested", start.AddHours(i)));
            }

            messages.Add(LeadMessage.Track($"e-{lead}", $"user-{lead}", "Email Clicked", start.AddHours(4), new Dictionary<string, object?> { ["emailId"] = "welcome" }));
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        var engine = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = null });
        foreach (var m in messages)
        {
            engine.Apply(m);
        }

        long perLead = (GC.GetAllocatedBytesForCurrentThread() - before) / 2_000;

        perLead.Should().BeLessThan(10_000, "a lead's windows hold the 3 and 1 times it used, not 3 × 10,000 places");
        var lead0 = engine.Evaluate("user-0", start.AddDays(1), explain: true)!;
        lead0["engagement"].Should().Be(3 * 5 + 1, "three demos and one email are under their limits, and 'burst' needs 10,000 demos");
    }
}
