using LeadScoring.Model;

namespace LeadScoring.Tests.Regressions;

/// <summary>Model-reader bugs found by the validation tests.</summary>
public class ModelReaderRegressionTests
{
    private static ModelLoadResult Load(string json) => ScoringModelLoader.Load(json);

    [Fact]
    public void CycleOfTwoComposites_IsReportedOnce_AtItsFirstScore()
    {
        var result = Load("""{"name":"m","version":"1","scores":[{"name":"x"},{"name":"a","sum":{"b":1}},{"name":"b","sum":{"a":1}}]}""");

        result.Errors.Should().ContainSingle()
            .Which.Should().Match<ModelError>(e => e.Path == "$.scores[1].sum" && e.Message.Contains("a -> b -> a"));
    }

    [Fact]
    public void CompositeOutsideACycle_IsNotReported_AndTheCycleIsNamedAtItsOwnPath()
    {
        var result = Load("""{"name":"m","version":"1","scores":[{"name":"d","sum":{"a":1}},{"name":"a","sum":{"b":1}},{"name":"b","sum":{"c":1}},{"name":"c","sum":{"a":1}}]}""");

        result.Errors.Should().ContainSingle()
            .Which.Should().Match<ModelError>(e => e.Path == "$.scores[1].sum" && e.Message.Contains("a -> b -> c -> a"));
    }

    [Fact]
    public void ColumnsAfterAByteOrderMark_CountFromTheFirstCharacter()
    {
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. "{\"name\":\"m\",\"version\":\"1\",\n  \"scores\":[{\"name\":\"s\"}], \"bogus\": 1}"u8];

        var error = ScoringModelLoader.Load(bytes).Errors.Should().ContainSingle().Subject;

        error.Path.Should().Be("$.bogus");
        (error.Line, error.Column).Should().Be((2, 28));
    }

    [Fact]
    public void DuplicateRuleId_IsReported_EvenWhenTheRuleHasAnotherError()
    {
        var result = Load("""{"name":"m","version":"1","scores":[{"name":"fit"}],"rules":[{"id":"a","score":"fit","points":1},{"id":"a","score":"fitt","points":1e400}]}""");

        result.Errors.Select(e => e.Path).Should().BeEquivalentTo("$.rules[1].id", "$.rules[1].score", "$.rules[1].points");
        result.Errors.Should().Contain(e => e.Message.Contains("did you mean 'fit'"));
    }

    [Fact]
    public void BrokenGrade_DoesNotAlsoClaimTheModelHasNoGrade()
    {
        var result = Load("""{"name":"m","version":"1","scores":[{"name":"fit"}],"grade":{"score":5,"bands":[{"grade":"A"}]},"stages":[{"name":"l"},{"name":"m","enter":{"field":"grade","op":"eq","value":"A"}}]}""");

        result.Errors.Should().ContainSingle().Which.Path.Should().Be("$.grade.score");
    }

    [Fact]
    public void BuilderEventRuleWithoutEventNames_IsRefused_NotTurnedIntoATraitRule()
    {
        var act = () => new ScoringModelBuilder("m", "1").AddScore("e").AddEventRule("r", "e", 5, on: []).Build();

        act.Should().Throw<ModelValidationException>().Which.Errors.Should().ContainSingle().Which.Path.Should().Be("$.rules[0].on");
    }

    [Fact]
    public void BuilderNonFiniteNumbers_AreRefused()
    {
        var operand = () => When.Field("traits.x").Gt(double.PositiveInfinity);
        operand.Should().Throw<ArgumentOutOfRangeException>();

        var points = () => new ScoringModelBuilder("m", "1").AddScore("e").AddTraitRule("r", "e", double.NaN, null).Build();
        points.Should().Throw<ModelValidationException>().Which.Errors.Should().ContainSingle()
            .Which.Should().Match<ModelError>(e => e.Path == "$.rules[0].points" && e.Message.Contains("finite"));
    }
}
