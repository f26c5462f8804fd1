using System.Text;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Tests.Regressions;

/// <summary>Issue 14, row 5: the regular-expression work of one message is bounded, and what is skipped is counted.</summary>
public class RegexBudgetTests
{
    private static CompiledModel ManyMatchesRules(int rules, int fields)
    {
        var sb = new StringBuilder("""{"name":"m","version":"1","scores":[{"name":"engagement"}],"rules":[""");
        for (int i = 0; i < rules; i++)
        {
            sb.Append(i == 0 ? "" : ",")
              .Append($$$"""{"id":"r{{{i}}}","score":"engagement","points":1,"on":"Big","when":{"field":"properties.f{{{i % fields}}}","op":"matches","value":"x{{{i}}}(a|b)+q$"}}""");
        }

        return CompiledModel.Compile(ScoringModelLoader.Load(sb.Append("]}").ToString()).GetModelOrThrow());
    }

    private static LeadMessage Big(int fields, int length)
    {
        var sb = new StringBuilder("""{"type":"track","event":"Big","userId":"u","messageId":"m1","timestamp":"2026-11-01T00:00:00Z","properties":{""");
        for (int f = 0; f < fields; f++)
        {
            sb.Append(f == 0 ? "" : ",").Append($"\"f{f}\":\"").Append('a', length).Append('"');
        }

        var limits = new MessageLimits { MaxStringBytes = MessageParser.MaxMessageBytes };
        return MessageParser.Parse(Encoding.UTF8.GetBytes(sb.Append("}}").ToString()), limits).Message!;
    }

    [Fact]
    public void A_message_against_5000_matches_rules_costs_bounded_time_and_the_skipped_tests_are_counted()
    {
        var model = ManyMatchesRules(5000, 16);
        var message = Big(16, 60_000); // 960,000 characters of text in 16 fields
        var engine = new LeadScoringEngine(model);
        long skippedBefore = RegexLimits.Skipped;

        engine.Apply(message);

        // The bound on the time is the budget on the characters tested (it took 32 s per message before it), shown
        // by what it skipped, not by a clock. 4 Mi characters of budget at 60,000 each: 69 tests run, the other 4,931 are skipped and counted.
        (RegexLimits.Skipped - skippedBefore).Should().BeGreaterThanOrEqualTo(5000 - (RegexLimits.MaxEvaluatedCharsPerMessage / 60_000));
        engine.Evaluate("u", new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero))!["engagement"].Should().Be(0);
    }

    [Fact]
    public void A_text_longer_than_the_regex_input_limit_does_not_match_and_is_counted()
    {
        var model = ManyMatchesRules(1, 1);
        var engine = new LeadScoringEngine(model);
        long skippedBefore = RegexLimits.Skipped;

        engine.Apply(Big(1, RegexLimits.MaxInputChars + 1));

        (RegexLimits.Skipped - skippedBefore).Should().BeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public void A_matches_rule_within_the_budget_still_matches()
    {
        var model = CompiledModel.Compile(ScoringModelLoader.Load(
            """{"name":"m","version":"1","scores":[{"name":"engagement"}],"rules":[{"id":"r","score":"engagement","points":3,"on":"Big","when":{"field":"properties.f0","op":"matches","value":"^a+$"}}]}""").GetModelOrThrow());
        var engine = new LeadScoringEngine(model);

        engine.Apply(Big(1, 50_000));

        engine.Evaluate("u", new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero))!["engagement"].Should().Be(3);
    }
}
