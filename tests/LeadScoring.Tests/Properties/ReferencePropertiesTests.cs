using CsCheck;
using LeadScoring.Reference;
using LeadScoring.Tests.Reference;

namespace LeadScoring.Tests.Properties;

/// <summary>
/// The engine against the independent reference scorer (tests/LeadScoring.Reference), which computes the contract's
/// formulas naively from scratch: same lead ids, grades, personas, stages, stage histories, award and suppressed
/// counts; scores and points within a relative 1e-9. Every engine call goes through <see cref="EngineUnderTest"/>.
/// </summary>
public class ReferencePropertiesTests
{
    private static Gen<ScoringCase> Cases(Gen<int> stageCheckHours) =>
        Gen.Select(ReferenceGen.Models(stageCheckHours), ReferenceGen.Messages)
            .Select(x => new ScoringCase(x.Item1.Name, x.Item1.Json, x.Item2.Lines, x.Item2.AsOf));

    private static void EngineAgreesWithTheReference(ScoringCase c)
    {
        foreach (bool explain in new[] { true, false })
        {
            var expected = ReferenceScorer.Score(c.Model, c.Lines, c.AsOf, explain);
            var actual = EngineUnderTest.Score(c.Model, c.Lines, c.AsOf, explain);
            var differences = ReferenceComparison.Differences(expected, actual);
            if (differences.Count > 0)
            {
                throw new Xunit.Sdk.XunitException(
                    $"The engine differs from the reference (explain: {explain}):\n  " + string.Join("\n  ", differences) +
                    "\nreference:\n" + string.Join("\n", ReferenceScorer.Render(expected)) +
                    "\nengine:\n" + string.Join("\n", ReferenceScorer.Render(actual)));
            }
        }
    }

    [Fact]
    public void The_engine_scores_any_message_set_as_the_reference_does_without_a_stage_clock()
    {
        Cases(Gen.Const(0)).Sample(EngineAgreesWithTheReference, iter: 400);
    }

    // Contract revision 2. Today's engine refuses "stageCheckHours" as an unknown key (ModelValidationException at
    // $.stageCheckHours), so every case fails; remove the Skip when the rewritten engine has the clock.
    [Fact(Skip = "stage clock not in the engine yet")]
    public void The_engine_scores_any_message_set_as_the_reference_does_with_a_stage_clock()
    {
        Cases(Gen.Int[1, 48]).Sample(EngineAgreesWithTheReference, iter: 200);
    }
}
