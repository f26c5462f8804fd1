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
}
