using System.Globalization;
using CsCheck;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;
using LeadScoring.Tests.Shared;

namespace LeadScoring.Tests.Engine;

/// <summary>
/// Spec 3.4, the stage clock (revision 2): ticks at every multiple of <c>stageCheckHours</c> after the epoch,
/// strictly after the lead's first message and strictly before T; and the kernel's jumps over ticks where the
/// stage cannot move, which must give exactly the histories of evaluating every tick.
/// </summary>
public sealed class StageClockTests
{
    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    /// <summary>The contract's example (<see cref="ClockModels.Example"/>).</summary>
    private static string ExampleModel(string clock = "", string rule = ClockModels.DemoRule) => ClockModels.Example(clock, rule);

    private static CompiledModel Compile(string json) => CompiledModel.Compile(ScoringModelLoader.Load(json).GetModelOrThrow());

    private static LeadResult Score(string modelJson, DateTimeOffset asOf, params LeadMessage[] messages)
    {
        var engine = new LeadScoringEngine(Compile(modelJson), new LeadScoringEngineOptions { ReorderHorizon = null });
        foreach (var m in messages)
        {
            engine.Apply(m);
        }

        return engine.Evaluate("u1", asOf)!;
    }

    private static readonly DateTimeOffset Demo = At("2026-10-01T10:00:00Z");

    [Fact]
    public void ContractExample_DefaultClock_LeavesAtTheFirstMidnightAfterTheCrossing()
    {
        // 40 * 2^(-d/10) is exactly 10 at d = 20 (10:00 on 21 October, not < 10), below it just after.
        var r = Score(ExampleModel(), At("2026-11-30T00:00:00Z"), LeadMessage.Track("d1", "u1", "Demo Requested", Demo));

        r.Stage.Should().Be("lead");
        r.StageHistory.Should().Equal(
            new StageMove("lead", "mql", Demo),
            new StageMove("mql", "lead", At("2026-10-22T00:00:00Z")));
    }

    [Fact]
    public void ContractExample_SixHourClock_LeavesAtNoonOnThe21st()
    {
        var r = Score(ExampleModel(""", "stageCheckHours": 6"""), At("2026-11-30T00:00:00Z"), LeadMessage.Track("d1", "u1", "Demo Requested", Demo));

        r.StageHistory.Should().Equal(
            new StageMove("lead", "mql", Demo),
            new StageMove("mql", "lead", At("2026-10-21T12:00:00Z")));
    }

    [Fact]
    public void ClockOff_LeavesOnlyAtT()
    {
        var r = Score(ExampleModel(""", "stageCheckHours": 0"""), At("2026-11-30T00:00:00Z"), LeadMessage.Track("d1", "u1", "Demo Requested", Demo));

        r.StageHistory.Should().Equal(
            new StageMove("lead", "mql", Demo),
            new StageMove("mql", "lead", At("2026-11-30T00:00:00Z")));
    }

    [Fact]
    public void IssueRepro_AMoveInSilence_IsRecordedAtTheFirstMidnightTick_NotAtTNorAtALaterMessage()
    {
        // Issue 11: a demo on 1 October, nothing else; scored as of 1 May the lead left mql on 22 October.
        var demo = LeadMessage.Track("d1", "u1", "Demo Requested", Demo);
        var mayFirst = At("2027-05-01T00:00:00Z");
        var expected = new[] { new StageMove("lead", "mql", Demo), new StageMove("mql", "lead", At("2026-10-22T00:00:00Z")) };

        Score(ExampleModel(), mayFirst, demo).StageHistory.Should().Equal(expected);

        // An unrelated message much later does not move the exit to its timestamp.
        Score(ExampleModel(), mayFirst, demo, LeadMessage.Page("p1", "u1", At("2027-02-14T09:30:00Z"))).StageHistory.Should().Equal(expected);
    }

    [Fact]
    public void EveryEngine_RunsTheClock()
    {
        var model = Compile(ExampleModel());
        var messages = new[] { LeadMessage.Track("d1", "u1", "Demo Requested", Demo), LeadMessage.Page("p1", "u1", At("2027-02-14T09:30:00Z")) };
        var asOf = At("2027-05-01T00:00:00Z");
        var expected = new[] { new StageMove("lead", "mql", Demo), new StageMove("mql", "lead", At("2026-10-22T00:00:00Z")) };

        // In order, deferred replays, and in the batch form (sorted, then applied).
        var inOrder = new LeadScoringEngine(model, new LeadScoringEngineOptions { DeferReplays = true });
        foreach (var m in messages)
        {
            inOrder.Apply(m);
        }

        inOrder.Evaluate("u1", asOf)!.StageHistory.Should().Equal(expected);
        LeadScoring.Tests.Shared.SortedScoring.Score(model, messages, asOf).Single().StageHistory.Should().Equal(expected);

        // The default engine, messages out of order (a replay).
        var engine = new LeadScoringEngine(model);
        engine.Apply(messages[1]);
        engine.Apply(messages[0]);
        engine.Evaluate("u1", asOf)!.StageHistory.Should().Equal(expected);
    }

    [Fact]
    public void Evaluate_DoesNotChangeTheState_TicksBeforeTAreRunAgainAfterTheNextMessage()
    {
        var engine = new LeadScoringEngine(Compile(ExampleModel()), new LeadScoringEngineOptions { ReorderHorizon = null });
        engine.Apply(LeadMessage.Track("d1", "u1", "Demo Requested", Demo));

        engine.Evaluate("u1", At("2026-12-01T00:00:00Z"))!.StageHistory.Should().HaveCount(2);
        engine.Evaluate("u1", At("2026-10-15T00:00:00Z"))!.StageHistory.Should().ContainSingle();

        // A second demo on 1 November: the move of 22 October comes first, then back to mql at the message.
        var second = At("2026-11-01T08:00:00Z");
        engine.Apply(LeadMessage.Track("d2", "u1", "Demo Requested", second));
        var r = engine.Evaluate("u1", At("2026-11-02T00:00:00Z"))!;
        r.StageHistory.Should().Equal(
            new StageMove("lead", "mql", Demo),
            new StageMove("mql", "lead", At("2026-10-22T00:00:00Z")),
            new StageMove("lead", "mql", second));
    }

    [Fact]
    public void TickAtExactlyAnExpiryInstant_TheAwardHasExpired()
    {
        // The award counts while T - t < 2 days: at midnight 3 October it has expired (age exactly 2 days); it would
        // still be worth 40 * 2^(-0.2) ~ 34.8 there, far above the exit at 10.
        string model = ExampleModel(rule: """{ "id": "demo", "score": "engagement", "points": 40, "on": "Demo Requested", "expiresAfterDays": 2 }""");
        var midnight = At("2026-10-01T00:00:00Z");
        var r = Score(model, At("2026-11-30T00:00:00Z"), LeadMessage.Track("d1", "u1", "Demo Requested", midnight));

        r.StageHistory.Should().Equal(
            new StageMove("lead", "mql", midnight),
            new StageMove("mql", "lead", At("2026-10-03T00:00:00Z")));

        // One second later the award still counts at that tick: the lead leaves at the next one.
        var later = midnight.AddSeconds(1);
        Score(model, At("2026-11-30T00:00:00Z"), LeadMessage.Track("d1", "u1", "Demo Requested", later)).StageHistory.Should().Equal(
            new StageMove("lead", "mql", later),
            new StageMove("mql", "lead", At("2026-10-04T00:00:00Z")));
    }

    [Fact]
    public void TickAtExactlyAMessagesTimestamp_TheMessageIsAppliedFirst()
    {
        // Engagement falls below 10 before midnight 22 October; a demo at exactly that midnight is applied before
        // the stage is re-evaluated there (40 + 9.9 >= 10): the lead never leaves.
        var demo = LeadMessage.Track("d1", "u1", "Demo Requested", Demo);
        var tick = At("2026-10-22T00:00:00Z");
        Score(ExampleModel(), At("2026-11-01T00:00:00Z"), demo, LeadMessage.Track("d2", "u1", "Demo Requested", tick))
            .StageHistory.Should().Equal(new StageMove("lead", "mql", Demo));

        // The same demo one second after the tick: the tick moves the lead out, the demo back in.
        var after = tick.AddSeconds(1);
        Score(ExampleModel(), At("2026-11-01T00:00:00Z"), demo, LeadMessage.Track("d2", "u1", "Demo Requested", after))
            .StageHistory.Should().Equal(
                new StageMove("lead", "mql", Demo),
                new StageMove("mql", "lead", tick),
                new StageMove("lead", "mql", after));
    }

    [Fact]
    public void TickAtExactlyT_IsTheFinalReEvaluation_NotAnExtraOne()
    {
        var tick = At("2026-10-22T00:00:00Z");
        var r = Score(ExampleModel(), tick, LeadMessage.Track("d1", "u1", "Demo Requested", Demo));

        r.StageHistory.Should().Equal(new StageMove("lead", "mql", Demo), new StageMove("mql", "lead", tick));
    }

    [Fact]
    public void ClosingOccurredWindow_MovesTheLeadAtTheTickWhereItCloses()
    {
        // "quiet" is entered once no sign-up lies within the last day.
        string model = """
            {
              "name": "first", "version": "1",
              "scores": [ { "name": "e" } ],
              "stages": [ { "name": "lead" }, { "name": "quiet", "enter": { "not": { "occurred": "Signed Up", "withinDays": 1 } } } ]
            }
            """;
        var signup = At("2026-10-01T00:00:00Z");
        // At the message: signed up within a day, stays lead. Its window closes at 2 October 00:00 (t - 1 day < t_a fails).
        var r = Score(model, At("2026-10-05T00:00:00Z"), LeadMessage.Track("s1", "u1", "Signed Up", signup));
        r.StageHistory.Should().Equal(new StageMove("lead", "quiet", At("2026-10-02T00:00:00Z")));
    }

    [Fact]
    public void ModelWithoutStages_HasNoClock_AndStatedHoursAreReadBack()
    {
        var noStages = ScoringModelLoader.Load("""{ "name": "n", "version": "1", "scores": [ { "name": "e" } ], "stageCheckHours": 6 }""").GetModelOrThrow();
        noStages.StageCheckHours.Should().Be(6);
        noStages.EffectiveStageCheckHours.Should().Be(0);
        CompiledModel.Compile(noStages).StageCheckTicks.Should().Be(0);

        Compile(ExampleModel()).StageCheckTicks.Should().Be(24 * TimeSpan.TicksPerHour);
        Compile(ExampleModel(""", "stageCheckHours": 6""")).StageCheckTicks.Should().Be(6 * TimeSpan.TicksPerHour);
        Compile(ExampleModel(""", "stageCheckHours": 0""")).StageCheckTicks.Should().Be(0);
    }

    [Fact]
    public void Jumps_EvaluateFarFewerTicksThanEveryTick()
    {
        var model = Compile(ExampleModel(""", "stageCheckHours": 1"""));
        var messages = new[] { LeadMessage.Track("d1", "u1", "Demo Requested", Demo) };
        long asOf = At("2027-10-01T00:00:00Z").UtcTicks;

        var fast = Run(model, messages, asOf, everyTick: false);
        var slow = Run(model, messages, asOf, everyTick: true);

        fast.History.Should().Equal(slow.History);
        fast.History.Should().HaveCount(2);
        // Hourly ticks from 11:00 on 1 October 2026 to 23:00 on 30 September 2027.
        slow.Evaluations.Should().Be((365 * 24) - 11);
        fast.Evaluations.Should().BeLessThan(10);
    }

    /// <summary>An account directory over group traits set at given instants; optionally says when the account settles.</summary>
    private sealed class Accounts(bool tellsSettled, params (long At, string Tier)[] changes) : IAccountDirectory
    {
        public Dictionary<string, DataValue>? TraitsAt(string groupId, long ticks, string? messageId)
        {
            var last = changes.Where(c => c.At <= ticks).OrderBy(c => c.At).LastOrDefault();
            return last.Tier is null ? null : new Dictionary<string, DataValue>(StringComparer.Ordinal) { ["tier"] = DataValue.FromString(last.Tier) };
        }

        public long SettledAfter(string groupId) => tellsSettled ? changes.Max(c => c.At) : long.MaxValue;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AccountTraitsChangingInSilence_MoveTheLeadAtTheNextTick_WithOrWithoutJumps(bool tellsSettled)
    {
        // "gold" is entered while the lead's account is gold and engagement is at least 10; the account turns gold
        // at 15:00 on 3 October (another lead's group message) and back to silver on 20 October.
        var model = Compile("""
            {
              "name": "accounts", "version": "1",
              "scores": [ { "name": "engagement", "halfLifeDays": 10 } ],
              "rules": [ { "id": "demo", "score": "engagement", "points": 40, "on": "Demo Requested" } ],
              "stages": [
                { "name": "lead" },
                { "name": "gold", "enter": { "all": [ { "field": "account.tier", "op": "eq", "value": "gold" },
                                                        { "field": "scores.engagement", "op": "gte", "value": 10 } ] },
                  "exit": { "not": { "field": "account.tier", "op": "eq", "value": "gold" } } }
              ]
            }
            """);
        var accounts = new Accounts(tellsSettled, (At("2026-09-01T00:00:00Z").UtcTicks, "silver"), (At("2026-10-03T15:00:00Z").UtcTicks, "gold"), (At("2026-10-20T00:00:00Z").UtcTicks, "silver"));
        var messages = new[] { LeadMessage.Group("g1", "u1", "acme", Demo.AddHours(-1)), LeadMessage.Track("d1", "u1", "Demo Requested", Demo) };
        long asOf = At("2026-12-01T00:00:00Z").UtcTicks;

        var fast = Run(model, messages, asOf, everyTick: false, accounts);
        var slow = Run(model, messages, asOf, everyTick: true, accounts);

        fast.History.Should().Equal(
            new StageMove("lead", "gold", At("2026-10-04T00:00:00Z")),
            new StageMove("gold", "lead", At("2026-10-20T00:00:00Z")));
        slow.History.Should().Equal(fast.History);
        if (tellsSettled)
        {
            fast.Evaluations.Should().BeLessThan(slow.Evaluations / 2, "after 20 October the account is settled: jumps");
        }
        else
        {
            fast.Evaluations.Should().Be(slow.Evaluations, "an account that may change is checked at every tick");
        }
    }

    [Fact]
    public void NextMove_GivesTheTickAndStageOfTheFirstSilentMove_WithoutChangingTheState()
    {
        var model = Compile(ExampleModel());
        var evaluator = new Evaluator(model, null);
        var state = new LeadState(model);
        evaluator.Apply(state, LeadMessage.Track("d1", "u1", "Demo Requested", Demo));

        var move = evaluator.Clock!.NextMove(state, state.Stage, state.LastTicks, long.MaxValue);

        move.Should().Be((At("2026-10-22T00:00:00Z").UtcTicks, 0));
        evaluator.Clock.NextMove(state, state.Stage, state.LastTicks, At("2026-10-22T00:00:00Z").UtcTicks).Should().BeNull();
        // From another stage the answer is that stage's: a lead in "lead" with engagement 37 enters mql at the first tick.
        evaluator.Clock.NextMove(state, 0, state.LastTicks, long.MaxValue).Should().Be((At("2026-10-02T00:00:00Z").UtcTicks, 1));
        state.Stage.Should().Be(1);
        state.History.Should().ContainSingle();
        StageClock.NextTick(Demo.UtcTicks, TimeSpan.TicksPerDay).Should().Be(At("2026-10-02T00:00:00Z").UtcTicks);
        StageClock.NextTick(At("2026-10-02T00:00:00Z").UtcTicks, TimeSpan.TicksPerDay).Should().Be(At("2026-10-03T00:00:00Z").UtcTicks);
    }

    // ---------------------------------------------------------------- the jumps against every tick

    private static (List<StageMove> History, string? Stage, long Evaluations) Run(CompiledModel model, IEnumerable<LeadMessage> messages, long asOf, bool everyTick, IAccountDirectory? accounts = null)
    {
        var evaluator = new Evaluator(model, accounts);
        evaluator.Clock!.EveryTick = everyTick;
        var state = new LeadState(model);
        foreach (var m in messages.OrderBy(m => m.TimestampTicks).ThenBy(m => m.MessageId, StringComparer.Ordinal))
        {
            evaluator.Apply(state, m);
        }

        var r = evaluator.Evaluate(state, "u1", asOf, explain: false);
        return ([.. r.StageHistory], r.Stage, evaluator.Clock.Evaluations);
    }

    internal static readonly DateTimeOffset Start = At("2026-10-01T00:00:00Z");
    internal static readonly string[] Names = ["A", "B", "C", "D"];

    private static string Num(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>
    /// A random model over two decaying/expiring scores, a trait rule on a closing window, a composite, a grade,
    /// and stages whose conditions read scores, the grade, occurred windows and the stage itself.
    /// </summary>
    internal static readonly Gen<string> ModelGen =
        Gen.Select(
            Gen.Select(Gen.Int[0, 30], Gen.Int[-40, 60], Gen.Int[0, 8], Gen.Int[0, 3]),
            Gen.Select(Gen.Int[-40, 40], Gen.Int[0, 20], Gen.Int[1, 10], Gen.Int[0, 2]),
            Gen.Select(Gen.Int[0, 60], Gen.Int[-20, 40], Gen.Int[0, 50], Gen.Int[1, 20]),
            Gen.Select(Gen.Int[0, 4], Gen.Int[0, 3], Gen.Int[0, 30], Gen.Int[0, 1]))
        .Select(x =>
        {
            var ((hl, pA, expA, capA), (pB, hlB, withinC, weight), (enter1, exit1, gradeA, withinD), (clock, op, enter3, composite)) = x;
            string expires = expA == 0 ? "" : $", \"expiresAfterDays\": {Num(expA * 1.5)}";
            string cap = capA switch { 1 => ", \"maxPoints\": 50", 2 => ", \"minPoints\": -30", 3 => ", \"maxPoints\": 70, \"minPoints\": -10", _ => "" };
            string hlScore = hl == 0 ? "" : $", \"halfLifeDays\": {Num(hl * 0.7)}";
            string hlRule = hlB == 0 ? "" : $", \"halfLifeDays\": {hlB}";
            double w = weight switch { 0 => 1, 1 => -0.5, _ => 2 };
            int hours = clock switch { 0 => 1, 1 => 5, 2 => 24, 3 => 72, _ => 7 };
            string cmp = op switch { 0 => "lt", 1 => "lte", 2 => "between", _ => "ne" };
            string exitValue = cmp == "between" ? $"[{exit1 - 5}, {exit1 + 5}]" : $"{exit1}";
            string totalClamp = composite == 0 ? "" : ", \"min\": -20, \"max\": 80";
            return $$"""
                {
                  "name": "gen", "version": "1", "stageCheckHours": {{hours}},
                  "scores": [
                    { "name": "e"{{hlScore}}, "min": -60, "max": 120 },
                    { "name": "f" },
                    { "name": "total", "sum": { "e": 1, "f": {{Num(w)}} }{{totalClamp}} }
                  ],
                  "rules": [
                    { "id": "a", "score": "e", "points": {{pA}}, "on": "A"{{expires}}{{cap}} },
                    { "id": "b", "score": "e", "points": {{pB}}, "on": "B"{{hlRule}} },
                    { "id": "c", "score": "f", "points": 15, "when": { "occurred": "C", "withinDays": {{withinC + 1}} } },
                    { "id": "b2", "score": "f", "points": {{pB / 2}}, "on": ["B", "C"], "expiresAfterDays": {{withinC + 1}} }
                  ],
                  "grade": { "score": "total", "bands": [ { "grade": "A", "min": {{gradeA}} }, { "grade": "B", "min": {{gradeA - 15}} }, { "grade": "C" } ] },
                  "stages": [
                    { "name": "lead" },
                    { "name": "s1", "enter": { "field": "scores.total", "op": "gte", "value": {{enter1}} },
                      "exit": { "field": "scores.e", "op": "{{cmp}}", "value": {{exitValue}} } },
                    { "name": "s2", "enter": { "any": [ { "occurred": "D", "withinDays": {{withinD}} }, { "field": "grade", "op": "eq", "value": "A" } ] },
                      "exit": { "not": { "occurred": "D", "withinDays": {{withinD}} } } },
                    { "name": "s3", "enter": { "all": [ { "field": "stage", "op": "eq", "value": "s2" }, { "field": "scores.e", "op": "gt", "value": {{enter3}} } ] },
                      "exit": { "field": "scores.f", "op": "lte", "value": 0 } }
                  ]
                }
                """;
        });

    internal static readonly Gen<LeadMessage[]> StreamGen =
        Gen.Select(Gen.Int[0, 3], Gen.Int[0, 60 * 24 * 4]).Array[1, 12]
            .Select(xs => xs.Select((x, i) => LeadMessage.Track($"m{i:D2}", "u1", Names[x.Item1], Start.AddMinutes(x.Item2 * 15))).ToArray());

    [Fact]
    public void Property_JumpingGivesExactlyTheHistoriesOfEvaluatingEveryTick()
    {
        long tickMoves = 0;
        Gen.Select(ModelGen, StreamGen, Gen.Int[0, 120 * 24])
            .Sample((modelJson, messages, asOfHours) =>
            {
                var model = Compile(modelJson);
                long asOf = Start.AddHours(asOfHours).UtcTicks;
                var fast = Run(model, messages, asOf, everyTick: false);
                var slow = Run(model, messages, asOf, everyTick: true);
                fast.History.Should().Equal(slow.History);
                fast.Stage.Should().Be(slow.Stage);
                fast.Evaluations.Should().BeLessThanOrEqualTo(slow.Evaluations);
                var messageTimes = messages.Select(m => m.TimestampTicks).ToHashSet();
                tickMoves += fast.History.Count(h => !messageTimes.Contains(h.At.UtcTicks) && h.At.UtcTicks != asOf);
            }, iter: 1500, threads: 1);

        // The generator must exercise the clock: many moves happen at ticks, in silence.
        tickMoves.Should().BeGreaterThan(200);
    }
}
