using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;
using LeadScoring.Output;

namespace LeadScoring.Tests.Regressions;

/// <summary>Inputs that once crashed a run instead of being reported (found by the CLI tests).</summary>
public class RobustnessRegressionTests
{
    [Theory]
    [InlineData("""{"type":"identify","messageId":"c","timestamp":"2026-11-01T00:00:00Z","userId":"lone\ud800surrogate"}""")]
    [InlineData("""{"type":"track","event":"X","messageId":"c","timestamp":"2026-11-01T00:00:00Z","userId":"u","properties":{"k":"\udfff"}}""")]
    public void Message_WithALoneSurrogateEscape_IsRejectedWithAReason(string json)
    {
        var result = MessageParser.Parse(json);

        result.IsRejected.Should().BeTrue();
        result.Error.Should().Contain("not valid Unicode");
    }

    [Fact]
    public void Message_WithInvalidUtf8Bytes_IsRejectedWithAReason()
    {
        byte[] bytes = [.. """{"type":"identify","messageId":"c","timestamp":"2026-11-01T00:00:00Z","userId":"a"""u8, 0xFF, .. "\"}"u8];

        var result = MessageParser.Parse(bytes);

        result.IsRejected.Should().BeTrue();
    }

    [Fact]
    public void Model_WithALoneSurrogateEscape_IsRefusedAtItsPlace()
    {
        var result = ScoringModelLoader.Load("""{"name":"a\ud800","version":"1","scores":[{"name":"s"}]}""");

        result.IsValid.Should().BeFalse();
        result.Errors.Should().ContainSingle().Which.Message.Should().Contain("not valid Unicode");
        result.Errors[0].Line.Should().Be(1);
    }

    [Fact]
    public void ScoreThatWouldOverflow_SaturatesAtTheLargestFiniteValue_AndPrints()
    {
        var model = CompiledModel.Compile(ScoringModelLoader.Load("""
            {"name":"big","version":"1","scores":[{"name":"s"},{"name":"t","sum":{"s":1e308}}],
             "rules":[{"id":"r","score":"s","points":1e308,"on":"X"}]}
            """).GetModelOrThrow());
        var engine = new LeadScoringEngine(model);
        var t0 = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        engine.Apply(LeadMessage.Track("1", "u1", "X", t0));
        engine.Apply(LeadMessage.Track("2", "u1", "X", t0.AddMinutes(1)));

        var result = engine.Evaluate("u1", t0.AddDays(1))!;

        result["s"].Should().Be(double.MaxValue);
        result["t"].Should().Be(double.MaxValue);
        LeadResultJson.ToJson(result).Should().Contain("\"s\":1.7976931348623157E+308");
    }

    [Theory]
    [InlineData("2026-11-30T00:00Z", "2026-11-30T00:00:00Z")]
    [InlineData("2026-11-30t10:15:00z", "2026-11-30T10:15:00Z")]
    [InlineData("2026-11-30T10:15:00.5+01:00", "2026-11-30T09:15:00.5Z")]
    public void Timestamp_InOtherValidIso8601Forms_IsAccepted(string text, string utc)
    {
        MessageParser.TryParseTimestamp(text, out long ticks).Should().BeTrue();
        LeadResultJson.FormatTime(new DateTimeOffset(ticks, TimeSpan.Zero)).Should().Be(utc);
    }

    [Theory]
    [InlineData("2026-11-30T10:15:00")]
    [InlineData("2026-11-30 10:15:00Z")]
    [InlineData("yesterday")]
    [InlineData("2026-02-30T10:15:00Z")]
    public void Timestamp_WithoutAnOffsetOrMalformed_IsRefused(string text) =>
        MessageParser.TryParseTimestamp(text, out _).Should().BeFalse();
}
