using LeadScoring.Engine;
using LeadScoring.Messages;
using static LeadScoring.Tests.Scoring.ScoringKit;

namespace LeadScoring.Tests.Scoring;

/// <summary>Spec 3.4: lifecycle stages, re-evaluated after each message at its timestamp and at T.</summary>
public sealed class StageTests
{
    /// <summary>The spec's stages: lead; mql (fit >= 25 and engagement >= 30, exit engagement &lt; 10); sql (occurred).</summary>
    private const string FunnelModel = """
        {
          "name": "funnel", "version": "1",
          "scores": [ { "name": "fit" }, { "name": "engagement", "halfLifeDays": 30 } ],
          "rules": [
            { "id": "senior", "score": "fit", "points": 30,
              "when": { "field": "traits.title", "op": "contains", "value": "VP" } },
            { "id": "demo", "score": "engagement", "points": 40, "on": "Demo Requested" }
          ],
          "stages": [
            { "name": "lead" },
            { "name": "mql",
              "enter": { "all": [
                { "field": "scores.fit", "op": "gte", "value": 25 },
                { "field": "scores.engagement", "op": "gte", "value": 30 } ] },
              "exit": { "field": "scores.engagement", "op": "lt", "value": 10 } },
            { "name": "sql", "enter": { "occurred": "Sales Accepted" } }
          ]
        }
        """;

    [Fact]
    public void Stage_StartsInTheFirstStage_WithNoHistory()
    {
        var engine = NewEngine(FunnelModel);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0), Bag(("title", "Engineer"))));

        var r = engine.Eval("u1", Day(1));

        r.Stage.Should().Be("lead");
        r.StageHistory.Should().BeEmpty();
    }

    [Fact]
    public void Stage_MovesUpJustAfterTheMessageThatMakesEnterHold()
    {
        var engine = NewEngine(FunnelModel);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0), Bag(("title", "VP Sales"))));   // fit 30, engagement 0
        engine.Apply(LeadMessage.Track("d1", "u1", "Demo Requested", Day(2)));                // engagement 40 at day 2

        var r = engine.Eval("u1", Day(3));

        r.Stage.Should().Be("mql");
        r.StageHistory.Should().Equal(new StageMove("lead", "mql", Day(2)));
    }

    [Fact]
    public void Stage_MovesToTheHighestStageWhoseEnterHolds_SkippingStages()
    {
        var engine = NewEngine(FunnelModel);
        // mql's enter holds too (fit 30, engagement 40), but sql is higher.
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0), Bag(("title", "VP Sales"))));
        engine.Apply(LeadMessage.Track("d1", "u1", "Demo Requested", Day(1)));
        engine.Apply(LeadMessage.Identify("i2", "u2", Day(0)));
        engine.Apply(LeadMessage.Track("s2", "u2", "Sales Accepted", Day(1)));

        var skipped = engine.Eval("u2", Day(2));
        skipped.Stage.Should().Be("sql");
        skipped.StageHistory.Should().Equal(new StageMove("lead", "sql", Day(1)));

        engine.Apply(LeadMessage.Track("s1", "u1", "Sales Accepted", Day(1)));   // same timestamp as d1, id "s1" > "d1"
        var both = engine.Eval("u1", Day(2));
        both.Stage.Should().Be("sql");
        both.StageHistory.Should().Equal(new StageMove("lead", "mql", Day(1)), new StageMove("mql", "sql", Day(1)));
    }

    [Fact]
    public void Stage_IsLeftAtT_WhenDecayMakesExitHold()
    {
        var engine = NewEngine(FunnelModel);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0).AddHours(-1), Bag(("title", "VP Sales"))));
        engine.Apply(LeadMessage.Track("d1", "u1", "Demo Requested", Day(0)));

        // engagement = 40 * 2^(-t/30): exactly 10 at t = 60 days (not < 10), 40 * 2^(-61/30) ~ 9.77 at 61 days.
        var atSixty = engine.Eval("u1", Day(60));
        atSixty["engagement"].Should().BeApproximately(40 * Math.Pow(2, -60.0 / 30), Tolerance);
        atSixty.Stage.Should().Be("mql");
        atSixty.StageHistory.Should().Equal(new StageMove("lead", "mql", Day(0)));

        var atSixtyOne = engine.Eval("u1", Day(61));
        (40 * Math.Pow(2, -61.0 / 30)).Should().BeLessThan(10);
        atSixtyOne.Stage.Should().Be("lead");
        atSixtyOne.StageHistory.Should().Equal(new StageMove("lead", "mql", Day(0)), new StageMove("mql", "lead", Day(61)));
    }

    /// <summary>A model with its stage clock turned off (<c>"stageCheckHours": 0</c>): stages move at messages and at T only.</summary>
    private static string WithoutClock(string model) =>
        model.Replace("\"version\": \"1\",", "\"version\": \"1\", \"stageCheckHours\": 0,", StringComparison.Ordinal);

    [Fact]
    public void Stage_IsReEvaluatedAfterEachMessageAtItsTimestamp()
    {
        // The clock off, so that only messages re-evaluate the stage (the clock: see StageClockTests).
        var engine = NewEngine(WithoutClock(FunnelModel));
        engine.Model.StageCheckTicks.Should().Be(0);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0).AddHours(-1), Bag(("title", "VP Sales"))));
        engine.Apply(LeadMessage.Track("d1", "u1", "Demo Requested", Day(0)));
        // An unrelated message at day 70: engagement 40 * 2^(-70/30) ~ 7.9 < 10, so the lead leaves mql then.
        engine.Apply(LeadMessage.Page("p1", "u1", Day(70)));
        // Back in at day 71: a demo makes engagement 40 + 40 * 2^(-71/30) >= 30 again.
        engine.Apply(LeadMessage.Track("d2", "u1", "Demo Requested", Day(71)));

        var r = engine.Eval("u1", Day(100));

        r.StageHistory.Should().Equal(
            new StageMove("lead", "mql", Day(0)),
            new StageMove("mql", "lead", Day(70)),
            new StageMove("lead", "mql", Day(71)));
        r.Stage.Should().Be("mql");
        // At day 100: 40 * 2^(-100/30) + 40 * 2^(-29/30) ~ 4.0 + 20.5 >= 10: stays.
        r["engagement"].Should().BeApproximately(40 * Math.Pow(2, -100.0 / 30) + 40 * Math.Pow(2, -29.0 / 30), Tolerance);
    }

    /// <summary>lead; warm (fit >= 10, no exit); hot (engagement >= 30, exit engagement &lt; 10).</summary>
    private const string LadderModel = """
        {
          "name": "ladder", "version": "1",
          "scores": [ { "name": "fit" }, { "name": "engagement", "halfLifeDays": 10 } ],
          "rules": [
            { "id": "senior", "score": "fit", "points": 20,
              "when": { "field": "traits.title", "op": "contains", "value": "VP" } },
            { "id": "demo", "score": "engagement", "points": 40, "on": "Demo Requested" }
          ],
          "stages": [
            { "name": "lead" },
            { "name": "warm", "enter": { "field": "scores.fit", "op": "gte", "value": 10 } },
            { "name": "hot", "enter": { "field": "scores.engagement", "op": "gte", "value": 30 },
              "exit": { "field": "scores.engagement", "op": "lt", "value": 10 } }
          ]
        }
        """;

    [Fact]
    public void Exit_MovesDownToTheHighestLowerStageWhoseEnterHolds()
    {
        var engine = NewEngine(LadderModel);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0), Bag(("title", "VP Sales"))));   // fit 20 -> warm
        engine.Apply(LeadMessage.Track("d1", "u1", "Demo Requested", Day(1)));                // engagement 40 -> hot

        // 40 * 2^(-t/10) < 10 once t > 20 days: at day 22 (t = 21) the lead leaves hot; warm's enter (fit 20) holds.
        var r = engine.Eval("u1", Day(22));

        r.Stage.Should().Be("warm");
        r.StageHistory.Should().Equal(
            new StageMove("lead", "warm", Day(0)),
            new StageMove("warm", "hot", Day(1)),
            new StageMove("hot", "warm", Day(22)));
    }

    [Fact]
    public void Exit_FallsBackToTheFirstStage_WhenNoLowerEnterHolds()
    {
        var engine = NewEngine(LadderModel);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0), Bag(("title", "Engineer"))));   // fit 0: stays lead
        engine.Apply(LeadMessage.Track("d1", "u1", "Demo Requested", Day(1)));                // lead -> hot (warm skipped)

        var r = engine.Eval("u1", Day(22));

        r.Stage.Should().Be("lead");
        r.StageHistory.Should().Equal(new StageMove("lead", "hot", Day(1)), new StageMove("hot", "lead", Day(22)));
    }

    [Fact]
    public void StageWithoutExit_IsNeverLeftDownwards()
    {
        var engine = NewEngine(LadderModel);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0), Bag(("title", "VP Sales"))));   // warm
        engine.Apply(LeadMessage.Identify("i2", "u1", Day(5), Bag(("title", null))));         // fit 0: warm's enter no longer holds

        var r = engine.Eval("u1", Day(30));

        r["fit"].Should().Be(0);
        r.Stage.Should().Be("warm");
        r.StageHistory.Should().Equal(new StageMove("lead", "warm", Day(0)));
    }

    [Fact]
    public void StageWithExit_StaysWhileExitDoesNotHold_EvenWhenEnterNoLongerHolds()
    {
        var engine = NewEngine(LadderModel);
        engine.Apply(LeadMessage.Track("d1", "u1", "Demo Requested", Day(0)));   // hot

        // At day 15: 40 * 2^(-1.5) ~ 14.1: enter (>= 30) fails, exit (< 10) fails too: stays hot.
        var r = engine.Eval("u1", Day(15));

        r.Stage.Should().Be("hot");
        r.StageHistory.Should().Equal(new StageMove("lead", "hot", Day(0)));
    }

    private const string OccurredModel = """
        {
          "name": "occurred", "version": "1",
          "scores": [ { "name": "s" } ],
          "stages": [
            { "name": "lead" },
            { "name": "trial", "enter": { "occurred": ["Trial Started", "Trial Extended"], "withinDays": 14 },
              "exit": { "not": { "occurred": ["Trial Started", "Trial Extended"], "withinDays": 14 } } },
            { "name": "customer", "enter": { "occurred": "Order Completed" } }
          ]
        }
        """;

    [Fact]
    public void Occurred_WithinDays_HoldsOnlyWhileTheEventIsInTheWindow()
    {
        var engine = NewEngine(OccurredModel);
        engine.Apply(LeadMessage.Track("t1", "u1", "trial started", Day(0)));   // names compare case-insensitively

        // T - 14 < t <= T: day 0 is in the window until just before day 14.
        engine.Eval("u1", Day(14).AddSeconds(-1)).Stage.Should().Be("trial");
        var atFourteen = engine.Eval("u1", Day(14));
        atFourteen.Stage.Should().Be("lead");
        atFourteen.StageHistory.Should().Equal(new StageMove("lead", "trial", Day(0)), new StageMove("trial", "lead", Day(14)));
    }

    [Fact]
    public void Occurred_WithinDays_UsesTheLatestOfTheNamedEvents()
    {
        var engine = NewEngine(OccurredModel);
        engine.Apply(LeadMessage.Track("t1", "u1", "Trial Started", Day(0)));
        engine.Apply(LeadMessage.Track("t2", "u1", "Trial Extended", Day(10)));

        // The extension at day 10 keeps the window open until just before day 24.
        engine.Eval("u1", Day(20)).Stage.Should().Be("trial");
        var r = engine.Eval("u1", Day(24));
        r.Stage.Should().Be("lead");
        r.StageHistory.Should().Equal(new StageMove("lead", "trial", Day(0)), new StageMove("trial", "lead", Day(24)));
    }

    [Fact]
    public void Occurred_WithoutWithinDays_HoldsForever()
    {
        var engine = NewEngine(OccurredModel);
        engine.Apply(LeadMessage.Track("o1", "u1", "Order Completed", Day(0)));

        var r = engine.Eval("u1", Day(1000));

        r.Stage.Should().Be("customer");
        r.StageHistory.Should().Equal(new StageMove("lead", "customer", Day(0)));
    }

    [Fact]
    public void Occurred_IgnoresEventsAfterT()
    {
        var engine = NewEngine(OccurredModel);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0)));
        engine.Apply(LeadMessage.Track("o1", "u1", "Order Completed", Day(10)));

        var r = engine.Eval("u1", Day(5));

        r.Stage.Should().Be("lead");
        r.StageHistory.Should().BeEmpty();
    }

    [Fact]
    public void StageConditions_CanReadGradeAndTheCurrentStage()
    {
        var engine = NewEngine("""
            {
              "name": "grade-stage", "version": "1",
              "scores": [ { "name": "fit" } ],
              "rules": [
                { "id": "senior", "score": "fit", "points": 30,
                  "when": { "field": "traits.title", "op": "contains", "value": "VP" } },
                { "id": "size", "score": "fit", "points": 15,
                  "when": { "field": "traits.employees", "op": "gte", "value": 200 } }
              ],
              "grade": { "score": "fit", "bands": [ { "grade": "A", "min": 40 }, { "grade": "B", "min": 25 }, { "grade": "C" } ] },
              "stages": [
                { "name": "lead" },
                { "name": "warm", "enter": { "field": "grade", "op": "in", "value": ["A", "B"] } },
                { "name": "top", "enter": { "all": [
                    { "field": "grade", "op": "eq", "value": "a" },
                    { "field": "stage", "op": "eq", "value": "warm" } ] } }
              ]
            }
            """);
        // Day 0: fit 45, grade A. Current stage lead: top's enter needs stage warm (fails); warm's enter holds -> warm.
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0), Bag(("title", "VP Sales"), ("employees", 500))));

        var atOne = engine.Eval("u1", Day(1));
        // Re-evaluated at T = day 1 from stage warm: top's enter now holds.
        atOne.Stage.Should().Be("top");
        atOne.StageHistory.Should().Equal(new StageMove("lead", "warm", Day(0)), new StageMove("warm", "top", Day(1)));

        // A second message at day 2: the stage clock's midnight tick at day 1 (Day is midnight UTC) comes first and
        // makes the move happen then, as at T = day 1 above; T adds nothing.
        engine.Apply(LeadMessage.Page("p1", "u1", Day(2)));
        var atThree = engine.Eval("u1", Day(3));
        atThree.Stage.Should().Be("top");
        atThree.StageHistory.Should().Equal(new StageMove("lead", "warm", Day(0)), new StageMove("warm", "top", Day(1)));

        // A grade-B lead reaches warm only.
        engine.Apply(LeadMessage.Identify("i2", "u2", Day(0), Bag(("title", "VP Sales"))));
        engine.Apply(LeadMessage.Page("p2", "u2", Day(2)));
        var b = engine.Eval("u2", Day(3));
        b.Grade.Should().Be("B");
        b.Stage.Should().Be("warm");
    }

    [Fact]
    public void StageConditions_SeeScoresIncludingTheMessageJustApplied_NotLaterOnes()
    {
        var engine = NewEngine("""
            {
              "name": "instant", "version": "1",
              "scores": [ { "name": "e" } ],
              "rules": [ { "id": "demo", "score": "e", "points": 20, "on": "Demo Requested" } ],
              "stages": [
                { "name": "lead" },
                { "name": "engaged", "enter": { "field": "scores.e", "op": "gte", "value": 40 } }
              ]
            }
            """);
        // Two demos at the same timestamp: ordered by messageId, "a" then "b". After "a": 20; after "b": 40.
        engine.Apply(LeadMessage.Track("b", "u1", "Demo Requested", Day(3)));
        engine.Apply(LeadMessage.Track("a", "u1", "Demo Requested", Day(3)));

        var r = engine.Eval("u1", Day(4));
        r.StageHistory.Should().Equal(new StageMove("lead", "engaged", Day(3)));
        engine.Evaluate("u1", Day(2)).Should().BeNull("before its first message the lead does not exist");
    }

    [Fact]
    public void ModelWithOneStage_ReportsItAndNeverMoves()
    {
        var engine = NewEngine("""
            {
              "name": "one-stage", "version": "1",
              "scores": [ { "name": "s" } ],
              "stages": [ { "name": "prospect" } ]
            }
            """);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0)));

        var r = engine.Eval("u1", Day(1));
        r.Stage.Should().Be("prospect");
        r.StageHistory.Should().BeEmpty();
    }
}
