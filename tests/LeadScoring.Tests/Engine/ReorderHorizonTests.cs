using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;
using LeadScoring.Output;

namespace LeadScoring.Tests.Engine;

/// <summary>
/// The in-memory history's bound (<see cref="LeadScoringEngineOptions.ReorderHorizon"/>): messages older than the horizon
/// are folded into a base state, late messages beyond it are counted, and within it everything stays exact.
/// </summary>
public class ReorderHorizonTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The model: with decay and stages, so the engine keeps a full state per lead and its base state encoded.</summary>
    protected virtual CompiledModel Model => DecayModel;

    /// <summary>Whether the engine keeps <see cref="Model"/>'s leads as flat rows.</summary>
    protected virtual bool Flat => false;

    private static readonly CompiledModel DecayModel = CompiledModel.Compile(ScoringModelLoader.Load("""
        { "name": "h", "version": "1",
          "scores": [ { "name": "e", "halfLifeDays": 20 } ],
          "rules": [
            { "id": "page", "score": "e", "points": 1, "on": "$page", "limit": { "count": 2, "perDays": 7 } },
            { "id": "demo", "score": "e", "points": 10, "on": "Demo Requested" } ],
          "stages": [ { "name": "lead" }, { "name": "hot", "enter": { "field": "scores.e", "op": "gte", "value": 12 }, "exit": { "field": "scores.e", "op": "lt", "value": 5 } } ] }
        """).GetModelOrThrow());

    /// <summary>A lead's year: a page view a day, a demo request every 30 days.</summary>
    private static List<LeadMessage> Year(string user = "u1") =>
        [.. Enumerable.Range(0, 365).Select(d => d % 30 == 0
            ? LeadMessage.Track($"d-{d:D3}", user, "Demo Requested", T0.AddDays(d))
            : LeadMessage.Page($"p-{d:D3}", user, T0.AddDays(d), new Dictionary<string, object?> { ["path"] = "/x" }))];

    protected LeadScoringEngine Engine(TimeSpan? horizon)
    {
        var engine = new LeadScoringEngine(Model, new LeadScoringEngineOptions { ReorderHorizon = horizon });
        engine.UsesFlatRows.Should().Be(Flat);
        return engine;
    }

    private static string Json(LeadScoringEngine e, DateTimeOffset asOf) => LeadResultJson.ToJson(e.Evaluate("u1", asOf, explain: true)!);

    [Fact]
    public void AHorizon_BoundsTheHistoryALeadKeeps_AndInOrderScoresStayExact()
    {
        var bounded = Engine(TimeSpan.FromDays(30));
        var unbounded = Engine(null);
        foreach (var m in Year())
        {
            bounded.Apply(m).Should().Be(ApplyOutcome.Applied);
            unbounded.Apply(m);
        }

        var asOf = T0.AddDays(400);
        Json(bounded, asOf).Should().Be(Json(unbounded, asOf));
        unbounded.HistoryLength("u1").Should().Be(365);
        bounded.HistoryLength("u1").Should().BeLessThan(100, "messages older than 30 days are folded into the base state");
        bounded.Statistics.BeyondHorizon.Should().Be(0);
    }

    [Fact]
    public void ALateMessageWithinTheHorizon_IsPutInItsPlace_AndBeyondIt_IsCountedAndAppliedAsItComes()
    {
        var bounded = Engine(TimeSpan.FromDays(30));
        var year = Year();
        var withinLate = year[350];
        var beyondLate = year[100];
        foreach (var m in year.Where(m => m != withinLate && m != beyondLate))
        {
            bounded.Apply(m);
        }

        bounded.Apply(withinLate).Should().Be(ApplyOutcome.Reordered);
        bounded.Apply(beyondLate).Should().Be(ApplyOutcome.BeyondHorizon);
        bounded.Statistics.BeyondHorizon.Should().Be(1);

        // The late message within the horizon lands exactly: the lead equals one that saw it in order, except for
        // what the message beyond the horizon changed (one page award, long decayed).
        var exact = Engine(null);
        foreach (var m in year)
        {
            exact.Apply(m);
        }

        var asOf = T0.AddDays(365);
        var a = bounded.Evaluate("u1", asOf, explain: true)!;
        var b = exact.Evaluate("u1", asOf, explain: true)!;
        a.Contributions.Single(c => c.Rule == "page").Awards.Should().Be(b.Contributions.Single(c => c.Rule == "page").Awards);
        a["e"].Should().BeApproximately(b["e"], 1e-9);
    }

    /// <summary>A lead's year applied through a 30-day horizon: most of it folded.</summary>
    private LeadScoringEngine Folded(List<LeadMessage> year)
    {
        var bounded = Engine(TimeSpan.FromDays(30));
        foreach (var m in year)
        {
            bounded.Apply(m);
        }

        return bounded;
    }

    /// <summary>Retries of folded messages (the same, or with a new timestamp) are copies and change nothing.</summary>
    private static void RetriesOfFoldedMessagesAreCopies(LeadScoringEngine engine, List<LeadMessage> year)
    {
        string before = Json(engine, T0.AddDays(400));
        engine.Apply(year[10]).Should().Be(ApplyOutcome.Duplicate, "the same message, long folded");
        engine.Apply(LeadMessage.Page("p-011", "u1", T0.AddDays(390), new Dictionary<string, object?> { ["path"] = "/x" }))
            .Should().Be(ApplyOutcome.Duplicate, "a retry of a folded message with a new timestamp");
        Json(engine, T0.AddDays(400)).Should().Be(before);
        engine.Statistics.BeyondHorizon.Should().Be(0);
    }

    [Fact]
    public void ARetryOfAFoldedMessage_IsStillADuplicate()
    {
        var year = Year();
        RetriesOfFoldedMessagesAreCopies(Folded(year), year);
    }

    [Fact]
    public void ScoringBeforeTheFoldedHistory_FailsClearly_AndWithinItIsExact()
    {
        var bounded = Engine(TimeSpan.FromDays(30));
        var exact = Engine(null);
        foreach (var m in Year())
        {
            bounded.Apply(m);
            exact.Apply(m);
        }

        var act = () => bounded.Evaluate("u1", T0.AddDays(100));
        act.Should().Throw<ArgumentOutOfRangeException>().WithMessage("*reorder horizon*");
        Json(bounded, T0.AddDays(360)).Should().Be(Json(exact, T0.AddDays(360)));
        exact.Evaluate("u1", T0.AddDays(100)).Should().NotBeNull("an unbounded history scores any instant");
    }

    [Fact]
    public void ExportAndImport_CarryTheFoldedBaseState()
    {
        var bounded = Engine(TimeSpan.FromDays(30));
        foreach (var m in Year())
        {
            bounded.Apply(m);
        }

        var snapshot = bounded.ExportLead("u1")!;
        snapshot.BaseState.Should().NotBeNull();
        var restored = Engine(TimeSpan.FromDays(30));
        restored.ImportLead(snapshot);
        Json(restored, T0.AddDays(400)).Should().Be(Json(bounded, T0.AddDays(400)));

        // A late message within the horizon replays the restored lead from its base state.
        var late = LeadMessage.Track("late-demo", "u1", "Demo Requested", T0.AddDays(360));
        restored.Apply(late).Should().Be(ApplyOutcome.Reordered);
        bounded.Apply(late);
        Json(restored, T0.AddDays(400)).Should().Be(Json(bounded, T0.AddDays(400)));
    }

    [Fact]
    public void ARetryOfAFoldedMessage_AfterARestartFromTheMessageLog_IsStillADuplicate()
    {
        // Issue 14, row 16 (found by its test): a store hands a lead back with its whole message log; the messages its
        // base state holds were skipped without their ids, so a retry of one counted twice after a restart.
        var year = Year();
        var snapshot = Folded(year).ExportLead("u1")!;
        snapshot.BaseState.Should().NotBeNull();
        var restored = Engine(TimeSpan.FromDays(30));
        restored.ImportLead(LeadSnapshot.Create(snapshot.LeadId, snapshot.Ids, snapshot.State, snapshot.BaseState, year));
        RetriesOfFoldedMessagesAreCopies(restored, year);
    }

    [Fact]
    public void EvaluateMessageInstants_IsTheLeadAfterEachInstant_AsEvaluateLatestReportedItThen()
    {
        // Issue 14, row 16: what the hosted pipeline's score history is made of. Two messages share an instant.
        var year = Year().Take(90).Append(LeadMessage.Track("twin", "u1", "Demo Requested", T0.AddDays(45))).ToList();
        var bounded = Engine(TimeSpan.FromDays(30));
        var growing = Engine(null);
        var seen = new Dictionary<DateTimeOffset, string>();
        foreach (var m in year.OrderBy(m => m, Comparer<LeadMessage>.Create(LeadMessage.CompareTotal)))
        {
            bounded.Apply(m);
            growing.Apply(m);
            var latest = growing.EvaluateLatest("u1")!;
            seen[latest.AsOf] = LeadResultJson.ToJson(latest);
        }

        var all = growing.EvaluateMessageInstants("u1", DateTimeOffset.MinValue, out var none);
        none.Should().BeNull();
        all.Select(r => r.AsOf).Should().Equal(seen.Keys, "one result per distinct instant, oldest first");
        all.Select(LeadResultJson.ToJson).Should().Equal(seen.Values);

        // From an instant on, with the lead just before it; a bounded engine reports only what it keeps, and its base
        // state as the lead before them.
        var from = T0.AddDays(70);
        var tail = growing.EvaluateMessageInstants("u1", from, out var before);
        tail.Select(LeadResultJson.ToJson).Should().Equal(all.Where(r => r.AsOf >= from).Select(LeadResultJson.ToJson));
        LeadResultJson.ToJson(before!).Should().Be(seen[T0.AddDays(69)]);
        var kept = bounded.EvaluateMessageInstants("u1", DateTimeOffset.MinValue, out var folded);
        folded.Should().NotBeNull();
        LeadResultJson.ToJson(folded!).Should().Be(seen[folded!.AsOf]);
        kept.Should().NotBeEmpty().And.HaveCountLessThan(all.Count);
        kept.Select(LeadResultJson.ToJson).Should().Equal(all.Where(r => r.AsOf > folded.AsOf).Select(LeadResultJson.ToJson));
        bounded.EvaluateMessageInstants("nobody", from, out var nobody).Should().BeEmpty();
        nobody.Should().BeNull();
    }
}

/// <summary>
/// The same on flat rows (a model without decay and stages): there the base state is a row of its own, to which folding
/// applies messages with the in-order step.
/// </summary>
public sealed class FlatRowReorderHorizonTests : ReorderHorizonTests
{
    private static readonly CompiledModel FlatModel = CompiledModel.Compile(ScoringModelLoader.Load("""
        { "name": "h-flat", "version": "1",
          "scores": [ { "name": "e" } ],
          "rules": [
            { "id": "page", "score": "e", "points": 1, "on": "$page", "limit": { "count": 2, "perDays": 7 } },
            { "id": "demo", "score": "e", "points": 10, "on": "Demo Requested" } ] }
        """).GetModelOrThrow());

    protected override CompiledModel Model => FlatModel;

    protected override bool Flat => true;
}
