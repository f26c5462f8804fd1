using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Output;
using static LeadScoring.Tests.Scoring.ScoringKit;

namespace LeadScoring.Tests.Scoring;

/// <summary>Spec 5: the JSON object printed per lead, asserted as whole strings.</summary>
public sealed class OutputFormatTests
{
    private const string FullModel = """
        {
          "name": "output", "version": "1",
          "scores": [
            { "name": "fit", "max": 100 },
            { "name": "engagement", "halfLifeDays": 30 },
            { "name": "total", "sum": { "fit": 1, "engagement": 1 } }
          ],
          "rules": [
            { "id": "senior", "score": "fit", "points": 20,
              "when": { "field": "traits.title", "op": "contains", "value": "VP" } },
            { "id": "gmail", "score": "fit", "points": -10,
              "when": { "field": "traits.email", "op": "endsWith", "value": "@gmail.com" } },
            { "id": "pricing", "score": "engagement", "points": 10, "on": "$page", "limit": { "count": 1 } },
            { "id": "demo", "score": "engagement", "points": 40, "on": "Demo Requested" }
          ],
          "grade": { "score": "fit", "bands": [ { "grade": "A", "min": 40 }, { "grade": "B", "min": 15 }, { "grade": "C" } ] },
          "personas": [ { "name": "buyer", "when": { "field": "traits.title", "op": "contains", "value": "VP" } } ],
          "stages": [
            { "name": "lead" },
            { "name": "mql", "enter": { "field": "scores.total", "op": "gte", "value": 25 } }
          ]
        }
        """;

    private static LeadScoringEngine FullCase()
    {
        var engine = NewEngine(FullModel);
        // fit 20 from 2026-10-31T23:00Z; two pages on 2026-11-01T00:00Z, the second suppressed by the limit.
        engine.Apply(LeadMessage.Identify("i1", "u-17", Day(0).AddHours(-1), Bag(("title", "VP Sales"), ("email", "x@acme.com"))));
        engine.Apply(LeadMessage.Page("p1", "u-17", Day(0)));
        engine.Apply(LeadMessage.Page("p2", "u-17", Day(0)));
        return engine;
    }

    [Fact]
    public void ToJson_HasTheSection5Shape_KeysInOrder_ScoresInModelOrder()
    {
        var engine = FullCase();

        // As of 2026-12-01T00:00Z (30 days after the page): engagement = 10 * 2^(-30/30) = 5; total = 20 + 5 = 25.
        // The stage moved to mql just after p1 (total 20 + 10 = 30 >= 25). Grade: fit 20 -> B.
        var r = engine.Evaluate("u-17", Day(30))!;

        LeadResultJson.ToJson(r).Should().Be(
            """{"leadId":"u-17","asOf":"2026-12-01T00:00:00Z","scores":{"fit":20,"engagement":5,"total":25},"grade":"B","persona":"buyer","stage":"mql","stageHistory":[{"from":"lead","to":"mql","at":"2026-11-01T00:00:00Z"}]}""");
    }

    [Fact]
    public void ToJson_WithExplain_AddsContributionsOfRulesThatFired()
    {
        var engine = FullCase();

        var r = engine.Evaluate("u-17", Day(30), explain: true)!;

        // senior holds (trait rule: awards 1, suppressed 0, points 20); gmail does not hold and demo never matched:
        // neither is listed. pricing: 1 award, 1 suppressed, 10 * 2^-1 = 5.
        LeadResultJson.ToJson(r).Should().Be(
            """{"leadId":"u-17","asOf":"2026-12-01T00:00:00Z","scores":{"fit":20,"engagement":5,"total":25},"grade":"B","persona":"buyer","stage":"mql","stageHistory":[{"from":"lead","to":"mql","at":"2026-11-01T00:00:00Z"}],"contributions":[{"rule":"senior","score":"fit","awards":1,"suppressed":0,"points":20},{"rule":"pricing","score":"engagement","awards":1,"suppressed":1,"points":5}]}""");
    }

    [Fact]
    public void ToJson_WritesTimesAsUtcWithZ_WhateverTheOffsetAskedFor()
    {
        var engine = FullCase();
        var asOf = new DateTimeOffset(2026, 12, 1, 2, 0, 0, TimeSpan.FromHours(2));   // = 2026-12-01T00:00:00Z

        string json = LeadResultJson.ToJson(engine.Evaluate("u-17", asOf)!);

        json.Should().StartWith("""{"leadId":"u-17","asOf":"2026-12-01T00:00:00Z","scores":{"fit":20,"engagement":5,"total":25},""");
    }

    [Fact]
    public void ToJson_NullGradePersonaAndStage_WhereTheModelDefinesNone()
    {
        var engine = NewEngine("""
            {
              "name": "bare", "version": "1",
              "scores": [ { "name": "s" } ],
              "rules": [ { "id": "visit", "score": "s", "points": 1.5, "on": "$page" } ]
            }
            """);
        engine.Apply(Msg("""{ "type": "page", "anonymousId": "anon-1", "messageId": "p1", "timestamp": "2026-11-01T09:30:00+01:00" }"""));
        engine.Apply(Msg("""{ "type": "page", "anonymousId": "anon-1", "messageId": "p2", "timestamp": "2026-11-01T09:31:00+01:00" }"""));

        var r = engine.Evaluate("anon-1", Day(1), explain: true)!;

        // 2 x 1.5 = 3.
        LeadResultJson.ToJson(r).Should().Be(
            """{"leadId":"anon-1","asOf":"2026-11-02T00:00:00Z","scores":{"s":3},"grade":null,"persona":null,"stage":null,"stageHistory":[],"contributions":[{"rule":"visit","score":"s","awards":2,"suppressed":0,"points":3}]}""");
    }

    [Fact]
    public void ToJson_NullPersona_WhenNoPersonaHolds()
    {
        var engine = NewEngine(FullModel);
        engine.Apply(LeadMessage.Identify("i1", "u-2", Day(0), Bag(("email", "me@gmail.com"))));

        var r = engine.Evaluate("u-2", Day(1), explain: true)!;

        // fit raw -10 (gmail) is not clamped (no min): -10 -> grade C; total -10 + 0 = -10: stays lead.
        LeadResultJson.ToJson(r).Should().Be(
            """{"leadId":"u-2","asOf":"2026-11-02T00:00:00Z","scores":{"fit":-10,"engagement":0,"total":-10},"grade":"C","persona":null,"stage":"lead","stageHistory":[],"contributions":[{"rule":"gmail","score":"fit","awards":1,"suppressed":0,"points":-10}]}""");
    }

    [Fact]
    public void ToJson_MoveAtT_IsWrittenWithTheAsOfTime()
    {
        var engine = NewEngine("""
            {
              "name": "move-at-t", "version": "1",
              "scores": [ { "name": "e", "halfLifeDays": 1 } ],
              "rules": [ { "id": "demo", "score": "e", "points": 8, "on": "Demo Requested" } ],
              "stages": [
                { "name": "cold" },
                { "name": "hot", "enter": { "field": "scores.e", "op": "gte", "value": 4 },
                  "exit": { "field": "scores.e", "op": "lt", "value": 2 } }
              ]
            }
            """);
        engine.Apply(LeadMessage.Track("d1", "u1", "Demo Requested", Day(0).AddHours(6)));

        // At 2026-11-03T12:00Z the demo is 2.25 days old: 8 * 2^-2.25 ~ 1.68 < 2: hot -> cold at T.
        var r = engine.Evaluate("u1", Day(2.5))!;

        LeadResultJson.ToJson(r).Should().Be(
            $$"""{"leadId":"u1","asOf":"2026-11-03T12:00:00Z","scores":{"e":{{(8 * Math.Pow(2, -2.25)).ToString("R", System.Globalization.CultureInfo.InvariantCulture)}}},"grade":null,"persona":null,"stage":"cold","stageHistory":[{"from":"cold","to":"hot","at":"2026-11-01T06:00:00Z"},{"from":"hot","to":"cold","at":"2026-11-03T12:00:00Z"}]}""");
    }

    [Fact]
    public void WriteLines_WritesOneObjectPerLine_OrderedByLeadId()
    {
        var engine = NewEngine("""
            { "name": "lines", "version": "1", "scores": [ { "name": "s" } ] }
            """);
        engine.Apply(LeadMessage.Identify("i2", "u-2", Day(0)));
        engine.Apply(LeadMessage.Identify("i1", "u-10", Day(0)));

        using var stream = new MemoryStream();
        LeadResultJson.WriteLines(stream, engine.EvaluateAll(Day(1)));

        // Ordinal order: "u-10" < "u-2".
        System.Text.Encoding.UTF8.GetString(stream.ToArray()).Should().Be(
            """
            {"leadId":"u-10","asOf":"2026-11-02T00:00:00Z","scores":{"s":0},"grade":null,"persona":null,"stage":null,"stageHistory":[]}
            {"leadId":"u-2","asOf":"2026-11-02T00:00:00Z","scores":{"s":0},"grade":null,"persona":null,"stage":null,"stageHistory":[]}

            """.Replace("\r\n", "\n", StringComparison.Ordinal));
    }
}
