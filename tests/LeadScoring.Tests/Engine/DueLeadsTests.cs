using System.Globalization;
using CsCheck;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;
using LeadScoring.Tests.Shared;

namespace LeadScoring.Tests.Engine;

/// <summary>
/// <see cref="LeadScoringEngine.TakeDueLeads"/>: the engine's timer queue for a host-side stage clock (spec 3.4,
/// issue 11). A lead is handed out at the tick where its stage moves in silence, not before, once; a tick costs
/// nothing for leads that are not due; a lead that changes (a message, a late message, a merge, an import, its
/// account) gets its time worked out again.
/// </summary>
public sealed class DueLeadsTests
{
    private static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private static readonly DateTimeOffset Demo = At("2026-10-01T10:00:00Z");

    /// <summary>The contract's example of section 3.4 (engagement 40 with a 10-day half-life; mql from 30, left below 10).</summary>
    private static CompiledModel ExampleModel(string extra = "", string rule = ClockModels.DemoRule) =>
        CompiledModel.Compile(ScoringModelLoader.Load(ClockModels.Example(extra, rule)).GetModelOrThrow());

    private static LeadScoringEngine Engine(CompiledModel model, params LeadMessage[] messages)
    {
        var engine = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = null });
        foreach (var m in messages)
        {
            engine.Apply(m);
        }

        return engine;
    }

    private static LeadMessage DemoOf(string lead, DateTimeOffset at, string? id = null) => LeadMessage.Track(id ?? "d-" + lead + at.UtcTicks, lead, "Demo Requested", at);

    [Fact]
    public void ContractExample_DefaultClock_TheLeadIsDueAtMidnight22October_NotBefore_AndOnce()
    {
        var engine = Engine(ExampleModel(), DemoOf("u1", Demo));

        engine.TakeDueLeads(At("2026-10-21T00:00:00Z")).Should().BeEmpty();
        engine.TakeDueLeads(At("2026-10-21T23:59:59Z")).Should().BeEmpty();
        var exit = At("2026-10-22T00:00:00Z");
        engine.TakeDueLeads(exit).Should().Equal("u1");
        engine.Evaluate("u1", exit)!.StageHistory[^1].Should().Be(new StageMove("mql", "lead", exit));

        // Handed out once: it never moves again without a message.
        engine.TakeDueLeads(exit).Should().BeEmpty();
        engine.TakeDueLeads(At("2030-01-01T00:00:00Z")).Should().BeEmpty();
    }

    [Fact]
    public void ContractExample_SixHourClock_TheLeadIsDueAtNoon21October()
    {
        var engine = Engine(ExampleModel(""", "stageCheckHours": 6"""), DemoOf("u1", Demo));

        engine.TakeDueLeads(At("2026-10-21T06:00:00Z")).Should().BeEmpty();
        engine.TakeDueLeads(At("2026-10-21T12:00:00Z")).Should().Equal("u1");
    }

    [Fact]
    public void ClockOff_OrNoStages_NoLeadIsEverDue()
    {
        Engine(ExampleModel(""", "stageCheckHours": 0"""), DemoOf("u1", Demo)).TakeDueLeads(At("2027-01-01T00:00:00Z")).Should().BeEmpty();
        var noStages = CompiledModel.Compile(ScoringModelLoader.Load("""{ "name": "n", "version": "1", "scores": [ { "name": "e" } ] }""").GetModelOrThrow());
        Engine(noStages, LeadMessage.Page("p1", "u1", Demo)).TakeDueLeads(At("2027-01-01T00:00:00Z")).Should().BeEmpty();
    }

    [Fact]
    public void TickAtExactlyAnExpiryInstant_TheLeadIsDueThere()
    {
        // The award counts while T - t < 2 days: at midnight 3 October it has expired; without expiry it would keep
        // the lead in mql for weeks.
        var model = ExampleModel(rule: """{ "id": "demo", "score": "engagement", "points": 40, "on": "Demo Requested", "expiresAfterDays": 2 }""");
        var engine = Engine(model, DemoOf("u1", At("2026-10-01T00:00:00Z")));

        engine.TakeDueLeads(At("2026-10-02T00:00:00Z")).Should().BeEmpty();
        engine.TakeDueLeads(At("2026-10-03T00:00:00Z")).Should().Equal("u1");
    }

    [Fact]
    public void TickAtExactlyAMessagesTimestamp_TheMessageIsAppliedFirst_AndTheLeadIsNotDue()
    {
        var tick = At("2026-10-22T00:00:00Z");
        var engine = Engine(ExampleModel(), DemoOf("u1", Demo));
        engine.TakeDueLeads(At("2026-10-20T00:00:00Z")).Should().BeEmpty();

        // A demo at exactly the tick: applied before the stage is re-evaluated there, so the lead stays in mql.
        engine.Apply(DemoOf("u1", tick));
        engine.TakeDueLeads(tick).Should().BeEmpty();
        engine.Evaluate("u1", tick)!.StageHistory.Should().Equal(new StageMove("lead", "mql", Demo));

        // Its next exit is 20 days after the second demo (40 + 9.99.. decays below 10 two half-lives and a bit later).
        var next = engine.Evaluate("u1", At("2027-01-01T00:00:00Z"))!.StageHistory[^1].At;
        engine.TakeDueLeads(next.AddTicks(-1)).Should().BeEmpty();
        engine.TakeDueLeads(next).Should().Equal("u1");
    }

    [Fact]
    public void OnlyDueLeads_AreLookedAt_ATickWithNoneDueEvaluatesNothing()
    {
        // 1,000 leads, a demo each on one of 50 days: each leaves mql on its own day.
        var model = ExampleModel();
        var engine = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = null });
        for (int i = 0; i < 1000; i++)
        {
            engine.Apply(DemoOf($"u{i:D4}", Demo.AddDays(i % 50)));
        }

        var first = At("2026-10-01T00:00:00Z");
        engine.TakeDueLeads(first).Should().BeEmpty();
        long examined = engine.ClockEvaluations;

        // Before the first exit (22 October) nothing is due: nothing is evaluated.
        for (var tick = first.AddDays(1); tick < At("2026-10-22T00:00:00Z"); tick = tick.AddDays(1))
        {
            engine.TakeDueLeads(tick).Should().BeEmpty();
        }

        engine.ClockEvaluations.Should().Be(examined);

        // Then 20 leads a day, each once, on the day its engagement fell below 10.
        var seen = new HashSet<string>();
        for (var tick = At("2026-10-22T00:00:00Z"); tick <= At("2026-12-31T00:00:00Z"); tick = tick.AddDays(1))
        {
            long before = engine.ClockEvaluations;
            var due = engine.TakeDueLeads(tick);
            due.Count.Should().Be(tick < At("2026-12-11T00:00:00Z") ? 20 : 0);
            foreach (var id in due)
            {
                seen.Add(id).Should().BeTrue();
                engine.Evaluate(id, tick)!.StageHistory[^1].Should().Be(new StageMove("mql", "lead", tick));
            }

            // A due lead is looked at again from its move on: a few evaluations each, none for the others.
            (engine.ClockEvaluations - before).Should().BeLessThanOrEqualTo(due.Count * 40L);
        }

        seen.Should().HaveCount(1000);
    }

    [Fact]
    public void ALateMessage_RecomputesTheLeadsTime()
    {
        var engine = Engine(ExampleModel(), DemoOf("u1", Demo), LeadMessage.Page("p1", "u1", Demo.AddDays(3)));
        engine.TakeDueLeads(At("2026-10-05T00:00:00Z")).Should().BeEmpty();

        // A second demo on 2 October arrives late (before the page view): the lead now leaves mql later.
        engine.Apply(DemoOf("u1", Demo.AddDays(1))).Should().Be(ApplyOutcome.Reordered);
        var exit = engine.Evaluate("u1", At("2027-01-01T00:00:00Z"))!.StageHistory[^1].At;
        exit.Should().BeAfter(At("2026-10-22T00:00:00Z"));
        engine.TakeDueLeads(At("2026-10-22T00:00:00Z")).Should().BeEmpty();
        engine.TakeDueLeads(exit).Should().Equal("u1");
    }

    [Fact]
    public void AMessageThatArrivesAfterItsTickHasPassed_MakesTheLeadDueAtTheNextCall()
    {
        var engine = Engine(ExampleModel(), DemoOf("u1", Demo));
        engine.TakeDueLeads(At("2026-10-25T00:00:00Z")).Should().Equal("u1");

        // u2's demo of 20 September is applied only now: u2 left mql on 11 October, a tick already gone by.
        engine.Apply(DemoOf("u2", At("2026-09-20T10:00:00Z")));
        engine.TakeDueLeads(At("2026-10-26T00:00:00Z")).Should().Equal("u2");
        engine.Evaluate("u2", At("2026-10-26T00:00:00Z"))!.StageHistory[^1].Should().Be(new StageMove("mql", "lead", At("2026-10-11T00:00:00Z")));
    }

    [Fact]
    public void AMerge_RecomputesTheSurvivorsTime_AndTheAbsorbedLeadIsNeverDue()
    {
        var engine = Engine(ExampleModel(), DemoOf("anon", Demo), DemoOf("u1", Demo.AddDays(5)));
        engine.TakeDueLeads(At("2026-10-10T00:00:00Z")).Should().BeEmpty();

        // One lead after all: two demos five days apart keep it in mql until their sum decays below 10.
        engine.Apply(LeadMessage.Alias("a1", "u1", "anon", Demo.AddDays(6)));
        var exit = engine.Evaluate("u1", At("2027-01-01T00:00:00Z"))!.StageHistory[^1].At;
        exit.Should().BeAfter(At("2026-10-27T00:00:00Z"));

        engine.TakeDueLeads(exit.AddDays(-1)).Should().BeEmpty();
        engine.TakeDueLeads(exit).Should().Equal("u1");
        engine.TakeDueLeads(At("2027-01-01T00:00:00Z")).Should().BeEmpty();
    }

    [Fact]
    public void AnImportedLead_IsDueInItsNewEngine_AndNotInTheOldOne()
    {
        var model = ExampleModel();
        var from = Engine(model, DemoOf("u1", Demo));
        var to = Engine(model, DemoOf("u2", Demo.AddDays(30)));
        from.TakeDueLeads(At("2026-10-05T00:00:00Z")).Should().BeEmpty();
        to.TakeDueLeads(At("2026-10-05T00:00:00Z")).Should().BeEmpty();

        to.ImportLead(from.ExportLead("u1")!);
        from.RemoveLead("u1").Should().BeTrue();

        from.TakeDueLeads(At("2026-10-22T00:00:00Z")).Should().BeEmpty();
        to.TakeDueLeads(At("2026-10-22T00:00:00Z")).Should().Equal("u1");
    }

    [Fact]
    public void AnotherLeadsGroupMessage_MakesAMemberDue_WhenStagesReadTheAccount()
    {
        // "gold" is entered while the lead's account is gold; u1 joined acme long ago, u2 turns acme gold later.
        var model = CompiledModel.Compile(ScoringModelLoader.Load("""
            {
              "name": "accounts", "version": "1",
              "scores": [ { "name": "engagement" } ],
              "stages": [
                { "name": "lead" },
                { "name": "gold", "enter": { "field": "account.tier", "op": "eq", "value": "gold" },
                  "exit": { "not": { "field": "account.tier", "op": "eq", "value": "gold" } } }
              ]
            }
            """).GetModelOrThrow());
        var engine = Engine(model, LeadMessage.Group("g1", "u1", "acme", Demo, new Dictionary<string, object?> { ["tier"] = "silver" }));
        engine.TakeDueLeads(At("2026-10-05T00:00:00Z")).Should().BeEmpty();

        engine.Apply(LeadMessage.Group("g2", "u2", "acme", At("2026-10-05T15:00:00Z"), new Dictionary<string, object?> { ["tier"] = "gold" }));
        engine.TakeDueLeads(At("2026-10-06T00:00:00Z")).Should().Equal("u1");
        engine.Evaluate("u1", At("2026-10-06T00:00:00Z"))!.StageHistory.Should().Equal(new StageMove("lead", "gold", At("2026-10-06T00:00:00Z")));
    }

    /// <summary>
    /// Against a simple host model: at every tick (messages up to it applied first), the leads handed out are exactly
    /// those whose history as of the tick holds a move not yet told (a host tells each move of a message's history when
    /// the message is applied, and each tick's when the lead is handed out). Random models over decaying, expiring,
    /// capped and composite scores, grades, closing windows and stages reading the stage.
    /// </summary>
    [Fact]
    public void Property_HandedOutLeads_AreExactlyTheLeadsWithAnUntoldMove()
    {
        string[] leads = ["u1", "u2", "u3"];
        long handedOut = 0;
        Gen.Select(StageClockTests.ModelGen, StageClockTests.StreamGen.Array[leads.Length])
            .Sample((modelJson, streams) =>
            {
                var model = CompiledModel.Compile(ScoringModelLoader.Load(modelJson).GetModelOrThrow());
                var messages = streams
                    .SelectMany((stream, i) => stream.Select(m => LeadMessage.Track(m.MessageId, leads[i], m.Event!, new DateTimeOffset(m.TimestampTicks, TimeSpan.Zero))))
                    .OrderBy(m => m.TimestampTicks).ThenBy(m => m.UserId, StringComparer.Ordinal).ThenBy(m => m.MessageId, StringComparer.Ordinal)
                    .ToList();
                var engine = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = null });
                var told = leads.ToDictionary(l => l, _ => new HashSet<StageMove>());
                var first = new Dictionary<string, long>();
                long period = model.StageCheckTicks;
                long end = messages[^1].TimestampTicks + TimeSpan.FromDays(10).Ticks;
                int next = 0;
                for (long tick = StageClock.NextTick(StageClockTests.Start.UtcTicks, period); tick <= end; tick += period)
                {
                    for (; next < messages.Count && messages[next].TimestampTicks <= tick; next++)
                    {
                        var m = messages[next];
                        engine.Apply(m);
                        first.TryAdd(m.UserId!, m.TimestampTicks);
                        told[m.UserId!].UnionWith(engine.EvaluateLatest(m.UserId!)!.StageHistory);
                    }

                    var expected = leads.Where(l => first.TryGetValue(l, out long t0) && t0 < tick
                        && !engine.Evaluate(l, new DateTimeOffset(tick, TimeSpan.Zero))!.StageHistory.All(told[l].Contains)).ToList();
                    var due = engine.TakeDueLeads(new DateTimeOffset(tick, TimeSpan.Zero));
                    due.Should().BeEquivalentTo(expected, $"at {new DateTimeOffset(tick, TimeSpan.Zero):O}");
                    foreach (var l in due)
                    {
                        told[l].UnionWith(engine.Evaluate(l, new DateTimeOffset(tick, TimeSpan.Zero))!.StageHistory);
                    }

                    handedOut += due.Count;
                }
            }, iter: 40, threads: 1);

        // The generator must exercise the clock.
        handedOut.Should().BeGreaterThan(20);
    }
}
