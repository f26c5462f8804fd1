using System.Text.Json;
using System.Text.Json.Nodes;

namespace LeadScoring.Lab.Tests;

public sealed class DiffTests : IDisposable
{
    private const string AsOf = "2026-11-30T00:00:00Z";
    private readonly TempDir _dir = new();

    private string Raised(string rule, double points)
    {
        var doc = JsonNode.Parse(File.ReadAllText(Sample.Model))!.AsObject();
        doc.Remove("$schema");
        doc["rules"]!.AsArray().Single(r => (string?)r!["id"] == rule)!["points"] = points;
        return _dir.Write($"raised-{rule}.json", doc.ToJsonString());
    }

    private static List<JsonElement> Score(string model)
    {
        var r = Cli.Run("score", "--model", model, "--events", Sample.Messages, "--as-of", AsOf, "--explain");
        r.ExitCode.Should().Be(0, r.Stderr);
        return r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
    }

    private static readonly string[] MqlOrAbove = ["mql", "sql", "customer"];

    [Theory]
    [InlineData("senior-title", 45)]
    [InlineData("webinar", 60)]
    public void Raising_one_rule_lists_exactly_the_leads_it_fired_for_and_the_MQLs_match_two_score_runs(string rule, double points)
    {
        string b = Raised(rule, points);
        var r = Cli.Run("diff", "--model", Sample.Model, "--against", b, "--events", Sample.Messages, "--as-of", AsOf, "--json");
        r.ExitCode.Should().Be(0, r.Stderr);
        var diff = r.Json;

        var before = Score(Sample.Model);
        var after = Score(b);
        var fired = before.Where(l => l.GetProperty("contributions").EnumerateArray().Any(c => c.GetProperty("rule").GetString() == rule))
            .Select(l => l.GetProperty("leadId").GetString()!).ToList();
        fired.Should().NotBeEmpty();
        diff.GetProperty("changed").EnumerateArray().Select(c => c.GetProperty("leadId").GetString()!).Should().BeEquivalentTo(fired);

        var mqlA = before.Where(l => MqlOrAbove.Contains(l.GetProperty("stage").GetString())).Select(l => l.GetProperty("leadId").GetString()!).ToHashSet();
        var mqlB = after.Where(l => MqlOrAbove.Contains(l.GetProperty("stage").GetString())).Select(l => l.GetProperty("leadId").GetString()!).ToHashSet();
        diff.GetProperty("mqlsA").GetInt32().Should().Be(mqlA.Count);
        diff.GetProperty("mqlsB").GetInt32().Should().Be(mqlB.Count);
        diff.GetProperty("mqlsGained").EnumerateArray().Select(e => e.GetString()).Should().BeEquivalentTo(mqlB.Except(mqlA));
        diff.GetProperty("mqlsLost").EnumerateArray().Select(e => e.GetString()).Should().BeEquivalentTo(mqlA.Except(mqlB));

        var move = diff.GetProperty("rules").EnumerateArray().Single(m => m.GetProperty("rule").GetString() == rule);
        move.GetProperty("pointsB").GetDouble().Should().Be(points);
        move.GetProperty("moved").GetDouble().Should().BeGreaterThan(0);
        diff.GetProperty("rules").EnumerateArray().Where(m => m.GetProperty("rule").GetString() != rule)
            .Should().OnlyContain(m => m.GetProperty("moved").GetDouble() == 0, "no other rule's contributions change");
    }

    [Fact]
    public void The_same_model_changes_nothing()
    {
        var r = Cli.Run("diff", "--model", Sample.Model, "--against", Sample.Model, "--events", Sample.Messages, "--as-of", AsOf, "--json");
        r.ExitCode.Should().Be(0, r.Stderr);
        r.Json.GetProperty("leadsChanged").GetInt32().Should().Be(0);
        r.Json.GetProperty("mqlsGained").GetArrayLength().Should().Be(0);
    }

    [Fact]
    public void With_an_outcome_diff_prints_both_AUCs()
    {
        var r = Cli.Run("diff", "--model", Sample.Model, "--against", Raised("webinar", 60), "--events", Sample.Messages, "--as-of", "2026-10-15T00:00:00Z", "--outcome", "Sales Accepted");
        r.ExitCode.Should().Be(0, r.Stderr);
        r.Stdout.Should().MatchRegex(@"AUC .*A 0\.\d{3}, B 0\.\d{3}");
        r.Stdout.Should().Contain("webinar");
    }

    public void Dispose() => _dir.Dispose();
}
