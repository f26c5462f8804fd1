using LeadScoring.Model;

namespace LeadScoring.Lab.Tests;

/// <summary>The model document's optional top-level <c>outcome</c>.</summary>
public sealed class OutcomeModelTests
{
    private static string Doc(string outcome) =>
        "{\"name\":\"m\",\"version\":\"1\",\"scores\":[{\"name\":\"fit\"}],\"outcome\":" + outcome + "}";

    [Fact]
    public void An_outcome_is_read_with_its_window_and_90_days_by_default()
    {
        ScoringModelLoader.Load(Doc("{\"event\":\"Deal Won\",\"withinDays\":30}")).Model!.Outcome.Should().Be(new OutcomeDefinition("Deal Won", 30));
        ScoringModelLoader.Load(Doc("{\"event\":\"Deal Won\"}")).Model!.Outcome!.WithinDays.Should().Be(90);
        ScoringModelLoader.Load("{\"name\":\"m\",\"version\":\"1\",\"scores\":[{\"name\":\"fit\"}]}").Model!.Outcome.Should().BeNull();
    }

    [Theory]
    [InlineData("{\"withinDays\":30}", "$.outcome", "'event' is required")]
    [InlineData("{\"event\":\"\"}", "$.outcome.event", "must not be empty")]
    [InlineData("{\"event\":\"Won\",\"withinDays\":0}", "$.outcome.withinDays", "greater than 0")]
    [InlineData("{\"event\":\"Won\",\"days\":3}", "$.outcome.days", "unknown key 'days'")]
    [InlineData("\"Won\"", "$.outcome", "must be an object")]
    public void A_bad_outcome_is_refused_with_its_JSON_path(string outcome, string path, string reason)
    {
        var result = ScoringModelLoader.Load(Doc(outcome));
        result.IsValid.Should().BeFalse();
        result.Errors.Should().ContainSingle(e => e.Path == path && e.Message.Contains(reason));
    }

    [Fact]
    public void The_outcome_survives_the_writer_and_the_builder()
    {
        var built = new ScoringModelBuilder("m", "1").AddScore("fit").WithOutcome("Deal Won", 45).Build();
        built.Outcome.Should().Be(new OutcomeDefinition("Deal Won", 45));
        ScoringModelLoader.Load(built.ToJson()).Model!.Outcome.Should().Be(built.Outcome);
    }
}
