using CsCheck;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Tests.Engine;

/// <summary>
/// <see cref="LeadScoringEngine.TryGetScore"/> on flat rows computes scores from trait bits and counters instead of the
/// evaluator: it must give exactly the evaluator's numbers (the value of <see cref="LeadScoringEngine.Evaluate"/>), for
/// fractional points, point bounds, score bounds and weighted sums alike.
/// </summary>
public class LeadScorerScoreTests
{
    private const string ModelJson = """
        {
          "name": "flat-arithmetic", "version": "1",
          "scores": [
            { "name": "fit", "min": -10, "max": 40 },
            { "name": "engagement", "max": 57.5 },
            { "name": "total", "sum": { "fit": 0.7, "engagement": 1.3 }, "min": 0 }
          ],
          "rules": [
            { "id": "vp", "score": "fit", "points": 15.25, "when": { "field": "traits.title", "op": "containsAny", "value": ["VP", "Director"] } },
            { "id": "big", "score": "fit", "points": 10, "when": { "field": "traits.employees", "op": "between", "value": [200, 5000] } },
            { "id": "free", "score": "fit", "points": -12.5, "when": { "not": { "field": "traits.email", "op": "endsWith", "value": ".example" } } },
            { "id": "us", "score": "fit", "points": 5, "when": { "any": [ { "field": "traits.country", "op": "eq", "value": "US" }, { "field": "traits.country", "op": "eq", "value": "CA" } ] } },
            { "id": "always", "score": "fit", "points": 0.1 },
            { "id": "pricing", "score": "engagement", "points": 7.3, "on": "$page", "when": { "field": "properties.url", "op": "contains", "value": "/pricing" }, "limit": { "count": 2, "perDays": 7 } },
            { "id": "docs", "score": "engagement", "points": 0.35, "on": "$page", "when": { "field": "properties.url", "op": "contains", "value": "/docs" }, "maxPoints": 2 },
            { "id": "open", "score": "engagement", "points": 1, "on": "Email Opened", "limit": { "count": 3 } },
            { "id": "demo", "score": "engagement", "points": 40, "on": "Demo Requested", "minPoints": 1, "when": { "field": "traits.employees", "op": "gte", "value": 100 } },
            { "id": "unsub", "score": "engagement", "points": -25.5, "on": "Unsubscribed" }
          ]
        }
        """;

    private static readonly CompiledModel Model = CompiledModel.Compile(ScoringModelLoader.Load(ModelJson).GetModelOrThrow());

    private static readonly string[] Titles = ["VP Sales", "Director of IT", "Engineer", "Intern"];
    private static readonly string[] Urls = ["https://x.example/pricing", "https://x.example/docs/a", "https://x.example/", "https://x.example/docs/pricing"];
    private static readonly string[] Events = ["Email Opened", "Demo Requested", "Unsubscribed", "Other"];

    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Leads identified once, then a run of page and track messages in order (hours apart).</summary>
    private static readonly Gen<List<LeadMessage>> Streams =
        Gen.Select(Gen.Int[1, 6], Gen.Select(Gen.Int[0, 5], Gen.Int[0, 3], Gen.Int[0, 3], Gen.Int[1, 30]).Array[0, 80], Gen.Int[0, 9999])
            .Select((leads, steps, seed) =>
            {
                var messages = new List<LeadMessage>();
                var random = new Random(seed);
                for (int l = 0; l < leads; l++)
                {
                    messages.Add(LeadMessage.Identify($"i{l}", $"u{l}", Start, new Dictionary<string, object?>
                    {
                        ["title"] = Titles[random.Next(Titles.Length)],
                        ["employees"] = random.Next(0, 8000),
                        ["email"] = random.Next(2) == 0 ? $"a{l}@corp.example" : $"a{l}@gmail.com",
                        ["country"] = random.Next(3) switch { 0 => "US", 1 => "CA", _ => "DE" },
                    }));
                }

                var at = Start;
                int n = 0;
                foreach (var (lead, kind, pick, hours) in steps)
                {
                    at = at.AddHours(hours);
                    string user = $"u{lead % leads}";
                    messages.Add(kind < 2
                        ? LeadMessage.Page($"m{n++}", user, at, new Dictionary<string, object?> { ["url"] = Urls[pick] })
                        : LeadMessage.Track($"m{n++}", user, Events[pick], at));
                }

                return messages;
            });

    [Fact]
    public void TheModelRunsOnFlatRowsWithTraitRulesAsBits()
    {
        var scorer = new LeadScoringEngine(Model);
        scorer.UsesFlatRows.Should().BeTrue();
    }

    [Fact]
    public void TryGetScore_EqualsTheEvaluatorsValue_ForEveryScoreOfEveryLead()
    {
        var asOf = Start.AddDays(200);
        Streams.Sample(messages =>
        {
            var scorer = new LeadScoringEngine(Model);
            foreach (var m in messages)
            {
                scorer.Apply(m);
            }

            foreach (string id in scorer.LeadIds())
            {
                var result = scorer.Evaluate(id, asOf)!;
                for (int s = 0; s < Model.ScoreNames.Length; s++)
                {
                    scorer.TryGetScore(id, s, asOf, out double value).Should().BeTrue();
                    value.Should().Be(result.ValueAt(s), $"score {Model.ScoreNames[s]} of {id}");
                }
            }

            // And the evaluator's numbers are the batch numbers: the in-order stream is scored exactly.
            var batch = LeadScoring.Tests.Shared.SortedScoring.Score(Model, messages, asOf).ToDictionary(r => r.LeadId);
            foreach (string id in scorer.LeadIds())
            {
                for (int s = 0; s < Model.ScoreNames.Length; s++)
                {
                    scorer.TryGetScore(id, s, asOf, out double value);
                    value.Should().Be(batch[id].ValueAt(s));
                }
            }
        }, iter: 200);
    }

    [Fact]
    public void TryGetScore_BeforeTheLeadsLatestMessage_ScoresThePast_AndUnknownLeadsAreFalse()
    {
        var scorer = new LeadScoringEngine(Model);
        scorer.Apply(LeadMessage.Identify("i0", "u0", Start, new Dictionary<string, object?> { ["title"] = "VP" }));
        scorer.Apply(LeadMessage.Track("m1", "u0", "Email Opened", Start.AddDays(3)));

        scorer.TryGetScore("u0", 0, Start.AddDays(1), out double past).Should().BeTrue();
        past.Should().Be(scorer.Evaluate("u0", Start.AddDays(1))![Model.ScoreNames[0]]);
        scorer.TryGetScore("u0", 0, Start.AddDays(-1), out _).Should().BeFalse("the lead did not exist yet");
        scorer.TryGetScore("nobody", 0, Start.AddDays(5), out double none).Should().BeFalse();
        none.Should().Be(0);
        var bad = () => scorer.TryGetScore("u0", Model.ScoreNames.Length, Start.AddDays(5), out _);
        bad.Should().Throw<ArgumentOutOfRangeException>();
    }

    /// <summary>The same model with a grade and one stage: still on flat rows, and the outcome carries both.</summary>
    private static readonly CompiledModel Graded = CompiledModel.Compile(ScoringModelLoader.Load(ModelJson.TrimEnd().TrimEnd('}') + """
        , "grade": { "score": "total", "bands": [ { "grade": "A", "min": 40 }, { "grade": "B", "min": 15 }, { "grade": "C" } ] },
          "stages": [ { "name": "lead" } ] }
        """).GetModelOrThrow());

    [Fact]
    public void TryGetLatestOutcome_IsEvaluateLatest_ForEveryLead_InOrderOrNot()
    {
        new LeadScoringEngine(Graded).UsesFlatRows.Should().BeTrue();
        Streams.Sample(messages =>
        {
            // In order, then the same messages shuffled (late messages replay their leads) with a copy of one.
            var shuffled = messages.Select((m, i) => (m, i)).OrderBy(t => t.i % 5 == 3 ? 0 : 1).Select(t => t.m).ToList();
            if (messages.Count > 2)
            {
                shuffled.Add(messages[messages.Count / 2]);
            }

            foreach (var stream in new[] { messages, shuffled })
            {
                foreach (var model in new[] { Model, Graded })
                {
                    var engine = new LeadScoringEngine(model);
                    foreach (var m in stream)
                    {
                        engine.Apply(m);
                    }

                    var scores = new double[model.ScoreNames.Length];
                    foreach (string id in engine.LeadIds())
                    {
                        var expected = engine.EvaluateLatest(id)!;
                        engine.TryGetLatestOutcome(id, scores, out var asOf, out string? grade, out string? stage, out string? messageId)
                            .Should().BeTrue();
                        scores.Should().Equal(Enumerable.Range(0, scores.Length).Select(expected.ValueAt), $"the scores of {id}");
                        (asOf, grade, stage, messageId).Should().Be((expected.AsOf, expected.Grade, expected.Stage, expected.LatestMessageId));
                        expected.StageHistory.Should().BeEmpty();

                        // The overload without the latest message's id: the same outcome.
                        var without = new double[scores.Length];
                        engine.TryGetLatestOutcome(id, without, out var asOf2, out string? grade2, out string? stage2).Should().BeTrue();
                        without.Should().Equal(scores);
                        (asOf2, grade2, stage2).Should().Be((asOf, grade, stage));
                    }
                }
            }
        }, iter: 100);

        var graded = new LeadScoringEngine(Graded);
        graded.Apply(LeadMessage.Identify("i0", "u0", Start, new Dictionary<string, object?> { ["title"] = "VP", ["employees"] = 300 }));
        graded.TryGetLatestOutcome("u0", new double[3], out _, out string? g, out string? st, out _).Should().BeTrue();
        g.Should().NotBeNull().And.Be(graded.EvaluateLatest("u0")!.Grade);
        st.Should().Be("lead", "the model's one stage");
        graded.TryGetLatestOutcome("nobody", new double[3], out _, out _, out _, out _).Should().BeFalse();
        graded.TryGetLatestOutcome("nobody", new double[3], out _, out _, out _).Should().BeFalse();
        var tooShort = () => graded.TryGetLatestOutcome("u0", new double[2], out _, out _, out _, out _);
        tooShort.Should().Throw<ArgumentException>();
        var tooShortWithout = () => graded.TryGetLatestOutcome("u0", new double[2], out _, out _, out _);
        tooShortWithout.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void TryGetLatestOutcome_IsFalse_WhereTheModelNeedsFullStates()
    {
        var staged = CompiledModel.Compile(ScoringModelLoader.Load(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "data", "model.json"))).GetModelOrThrow());
        var engine = new LeadScoringEngine(staged);
        engine.UsesFlatRows.Should().BeFalse("the sample model has stages that move");
        engine.Apply(LeadMessage.Identify("i0", "u0", Start, new Dictionary<string, object?> { ["title"] = "VP" }));
        engine.TryGetLatestOutcome("u0", new double[staged.ScoreNames.Length], out _, out _, out _, out _).Should().BeFalse();
        engine.TryGetLatestOutcome("u0", new double[staged.ScoreNames.Length], out _, out _, out _).Should().BeFalse();
        engine.EvaluateLatest("u0").Should().NotBeNull("the caller evaluates instead");
    }

    [Fact]
    public void WindowTimesWithFractionsOfASecond_SwitchToTicks_AndStayExact()
    {
        // Whole seconds first (kept as seconds), then a time with milliseconds (moves every window to ticks):
        // the pricing limit (2 per 7 days) must still count exactly across the switch.
        var scorer = new LeadScoringEngine(Model);
        var messages = new List<LeadMessage>
        {
            LeadMessage.Identify("i0", "u0", Start, new Dictionary<string, object?> { ["title"] = "VP" }),
            LeadMessage.Page("p1", "u0", Start.AddDays(1), new Dictionary<string, object?> { ["url"] = Urls[0] }),
            LeadMessage.Page("p2", "u0", Start.AddDays(2).AddMilliseconds(250), new Dictionary<string, object?> { ["url"] = Urls[0] }),
            LeadMessage.Page("p3", "u0", Start.AddDays(8).AddMilliseconds(100), new Dictionary<string, object?> { ["url"] = Urls[0] }),
            LeadMessage.Page("p4", "u0", Start.AddDays(8).AddMilliseconds(300), new Dictionary<string, object?> { ["url"] = Urls[0] }),
            LeadMessage.Page("p5", "u0", Start.AddDays(9).AddMilliseconds(250), new Dictionary<string, object?> { ["url"] = Urls[0] }),
        };
        foreach (var m in messages)
        {
            scorer.Apply(m);
        }

        var asOf = Start.AddDays(30);
        var expected = LeadScoring.Tests.Shared.SortedScoring.Score(Model, messages, asOf, explain: true).Single();
        var actual = scorer.Evaluate("u0", asOf, explain: true)!;
        actual.Contributions.Should().Equal(expected.Contributions);
        actual["engagement"].Should().Be(expected["engagement"]);
        expected.Contributions.Single(c => c.Rule == "pricing").Suppressed.Should().BeGreaterThan(0, "the case must exercise the limit");
    }
}
