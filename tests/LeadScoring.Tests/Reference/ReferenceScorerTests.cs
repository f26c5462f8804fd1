using LeadScoring.Reference;
using LeadScoring.Tests.Shared;
using static LeadScoring.Tests.Reference.Seg;

namespace LeadScoring.Tests.Reference;

/// <summary>
/// The reference scorer against values worked out by hand from the contract, so that it can be trusted as the
/// expected value of the property tests (Properties/ReferencePropertiesTests.cs).
/// </summary>
public class ReferenceScorerTests
{
    /// <summary>The contract's 3.4 example: engagement 40 with a 10-day half-life; mql exits below 10.</summary>
    private static string DecayModel(int? stageCheckHours, string rule = ClockModels.DemoRule) => ClockModels.Example(stageCheckHours, rule);

    private static ReferenceLead Single(string model, IEnumerable<string> lines, DateTimeOffset asOf, bool explain = true) =>
        ReferenceScorer.Score(model, lines, asOf, explain).Should().ContainSingle().Subject;

    private static string Moves(ReferenceLead lead) =>
        string.Join(", ", lead.StageHistory.Select(m => $"{m.From}->{m.To}@{Time(m.At)}"));

    [Fact]
    public void The_contract_stage_clock_example_leaves_mql_at_the_next_midnight_with_the_default_clock()
    {
        var lead = Single(DecayModel(null), [Track("m1", At("2026-10-01T10:00:00Z"), "Demo Requested", "u1")], At("2026-11-01T00:00:00Z"));

        Moves(lead).Should().Be("lead->mql@2026-10-01T10:00:00Z, mql->lead@2026-10-22T00:00:00Z");
        lead.Stage.Should().Be("lead");
    }

    [Fact]
    public void The_contract_stage_clock_example_leaves_mql_at_noon_with_a_six_hour_clock()
    {
        var lead = Single(DecayModel(6), [Track("m1", At("2026-10-01T10:00:00Z"), "Demo Requested", "u1")], At("2026-11-01T00:00:00Z"));

        Moves(lead).Should().Be("lead->mql@2026-10-01T10:00:00Z, mql->lead@2026-10-21T12:00:00Z");
    }

    [Fact]
    public void Without_a_clock_the_decayed_lead_leaves_mql_only_at_the_as_of_time()
    {
        var lead = Single(DecayModel(0), [Track("m1", At("2026-10-01T10:00:00Z"), "Demo Requested", "u1")], At("2026-11-01T00:00:00Z"));

        Moves(lead).Should().Be("lead->mql@2026-10-01T10:00:00Z, mql->lead@2026-11-01T00:00:00Z");
    }

    [Fact]
    public void A_move_after_the_last_tick_is_recorded_at_the_as_of_time()
    {
        // 20 days after 10:00 the score is exactly 10 (not below); it is below from then on. T is before the next midnight.
        var lead = Single(DecayModel(null), [Track("m1", At("2026-10-01T10:00:00Z"), "Demo Requested", "u1")], At("2026-10-21T23:00:00Z"));

        Moves(lead).Should().Be("lead->mql@2026-10-01T10:00:00Z, mql->lead@2026-10-21T23:00:00Z");
        lead.Score("engagement").Should().BeApproximately(40 * Math.Pow(2, -(20 + 13 / 24.0) / 10), 1e-12);
    }

    [Fact]
    public void A_tick_exactly_at_an_expiry_instant_no_longer_counts_the_expired_award()
    {
        // The award counts while T - t_a < 2 days: at 2026-10-03T00:00:00Z it is gone (unexpired it would still be 40 * 2^-0.2).
        string model = DecayModel(null, """{ "id": "demo", "score": "engagement", "points": 40, "on": "Demo Requested", "expiresAfterDays": 2 }""");
        var lead = Single(model, [Track("m1", At("2026-10-01T00:00:00Z"), "Demo Requested", "u1")], At("2026-10-10T00:00:00Z"));

        Moves(lead).Should().Be("lead->mql@2026-10-01T00:00:00Z, mql->lead@2026-10-03T00:00:00Z");
        lead.Score("engagement").Should().Be(0);
        lead.Contribution("demo").Should().Be(new ReferenceContribution("demo", "engagement", 1, 0, 0));
    }

    [Fact]
    public void A_tick_exactly_at_a_message_timestamp_sees_the_message_applied()
    {
        // At the 2026-10-22T00:00:00Z tick the first award alone is below 10, but a second demo at that very instant keeps
        // the lead in mql: the tick is evaluated after the message, so there is no move down (and back up).
        var lead = Single(DecayModel(null),
            [Track("m2", At("2026-10-22T00:00:00Z"), "Demo Requested", "u1"), Track("m1", At("2026-10-01T10:00:00Z"), "Demo Requested", "u1")],
            At("2026-10-25T00:00:00Z"));

        Moves(lead).Should().Be("lead->mql@2026-10-01T10:00:00Z");
        lead.Score("engagement").Should().BeApproximately(40 * Math.Pow(2, -3 / 10.0) + 40 * Math.Pow(2, -(23 + 14 / 24.0) / 10), 1e-12);
    }

    [Fact]
    public void A_closing_occurred_window_moves_the_lead_down_at_the_next_tick()
    {
        // sql holds while "Sales Accepted" occurred within 5 days: false from 2026-10-06T10:00:00Z (T - t < 5 days no
        // longer holds); the 12-hour clock ticks at 12:00 that day. mql's enter does not hold, so the lead goes to lead.
        string model = """
            {
              "name": "window", "version": "1", "scores": [ { "name": "e" } ], "rules": [],
              "stages": [
                { "name": "lead" },
                { "name": "mql", "enter": { "field": "scores.e", "op": "gte", "value": 1 } },
                { "name": "sql", "enter": { "occurred": "Sales Accepted", "withinDays": 5 },
                  "exit": { "not": { "occurred": "Sales Accepted", "withinDays": 5 } } }
              ],
              "stageCheckHours": 12
            }
            """;

        var lead = Single(model, [Track("s1", At("2026-10-01T10:00:00Z"), "sales accepted", "u1")], At("2026-10-20T00:00:00Z"));

        Moves(lead).Should().Be("lead->sql@2026-10-01T10:00:00Z, sql->lead@2026-10-06T12:00:00Z");
    }

    [Fact]
    public void The_contract_example_model_scores_a_worked_example()
    {
        var t0 = At("2026-10-01T12:00:00Z");
        var T = t0.AddDays(30);
        var lines = new List<string>
        {
            Identify("i1", t0.AddHours(-1), new { title = "VP Sales", employees = 1000, email = "ann@corp.example" }, "u1"),
            // Four pricing views at one instant: pricing-page awards 3 and suppresses the 4th (limit 3 per 30 days);
            // binge-reader: the 3rd is the first candidate (after 3 within a day) and is awarded, the 4th is stopped.
            Page("p1", t0, "/pricing", "u1"), Page("p2", t0, "/pricing/plans", "u1"), Page("p3", t0, "/PRICING", "u1"), Page("p4", t0, "/pricing", "u1"),
            Track("d1", T, "demo requested", "u1"),
            // Twelve distinct emails and one repeat in another case: 12 awards, 1 suppressed, 12 points clamped to maxPoints 10.
            Track("e-again", T, "Email Opened", "u1", properties: new { emailId = "E1" }),
        };
        lines.AddRange(Enumerable.Range(1, 12).Select(i => Track($"e{i:D2}", T, "Email Opened", "u1", properties: new { emailId = $"e{i}" })));

        var lead = Single(SpecDocuments.ExampleModel, lines, T);

        // fit: senior-title 20 + target-size 15. engagement at 30 days (half-life 30): (3 * 10 + 5) / 2 + 40 + 10.
        lead.Score("fit").Should().Be(35);
        lead.Score("engagement").Should().BeApproximately(17.5 + 40 + 10, 1e-12);
        lead.Score("total").Should().BeApproximately(35 + 67.5, 1e-12);
        lead.Grade.Should().Be("B");
        lead.Persona.Should().Be("economic-buyer");
        lead.Stage.Should().Be("mql");
        Moves(lead).Should().Be("lead->mql@2026-10-01T12:00:00Z"); // after p3: 30 + 5 >= 30 with fit 35 >= 25
        lead.Contributions.Should().Equal(
            new ReferenceContribution("senior-title", "fit", 1, 0, 20),
            new ReferenceContribution("target-size", "fit", 1, 0, 15),
            new ReferenceContribution("pricing-page", "engagement", 3, 1, 15),
            new ReferenceContribution("demo-request", "engagement", 1, 0, 40),
            new ReferenceContribution("email-open", "engagement", 12, 1, 10),
            new ReferenceContribution("binge-reader", "engagement", 1, 1, 2.5));
    }

    private const string SmallModel = """
        {
          "name": "small", "version": "1",
          "scores": [
            { "name": "s", "min": 0, "max": 50 },
            { "name": "e", "min": -5 },
            { "name": "both", "sum": { "s": 2, "e": 0.5 }, "max": 90 }
          ],
          "rules": [
            { "id": "a", "score": "s", "points": 30, "on": "A" },
            { "id": "once-a-day", "score": "e", "points": 4, "on": "B", "limit": { "count": 1, "perDays": 1 } },
            { "id": "per-plan", "score": "e", "points": 1, "on": "C", "limit": { "count": 1, "per": "properties.plan" } },
            { "id": "software", "score": "e", "points": 7, "when": { "field": "account.industry", "op": "eq", "value": "software" } },
            { "id": "no-title", "score": "e", "points": -20, "when": { "field": "traits.title", "op": "notExists" } }
          ],
          "personas": [ { "name": "named", "when": { "field": "traits.title", "op": "exists" } } ]
        }
        """;

    [Fact]
    public void Score_clamps_apply_to_the_sum_while_contributions_keep_the_rule_share()
    {
        var t = At("2026-10-01T00:00:00Z");
        var lead = Single(SmallModel, [Track("a1", t, "A", "u"), Track("a2", t, "A", "u"), Track("a3", t, "A", "u")], t.AddDays(1));

        lead.Score("s").Should().Be(50); // 90 clamped to max 50
        lead.Score("e").Should().Be(-5); // -20 (no title) clamped to min -5
        lead.Score("both").Should().Be(90); // 2 * 50 + 0.5 * -5 = 97.5, clamped to max 90
        lead.Contribution("a").Should().Be(new ReferenceContribution("a", "s", 3, 0, 90));
        lead.Contribution("no-title").Should().Be(new ReferenceContribution("no-title", "e", 1, 0, -20));
        lead.Persona.Should().BeNull();
        lead.Grade.Should().BeNull();
        lead.Stage.Should().BeNull();
    }

    [Fact]
    public void A_limit_window_is_half_open_so_an_award_exactly_one_window_later_counts()
    {
        var t = At("2026-10-01T00:00:00Z");
        var lead = Single(SmallModel,
            [Identify("i", t, new { title = "x" }, "u"), Track("b1", t, "B", "u"), Track("b2", t.AddHours(23), "B", "u"), Track("b3", t.AddDays(1), "B", "u")],
            t.AddDays(2));

        lead.Contribution("once-a-day").Should().Be(new ReferenceContribution("once-a-day", "e", 2, 1, 8));
    }

    [Fact]
    public void A_limit_per_value_compares_values_case_insensitively_and_treats_missing_as_one_value()
    {
        var t = At("2026-10-01T00:00:00Z");
        var lead = Single(SmallModel,
            [
                Identify("i", t, new { title = "x" }, "u"),
                Track("c1", t, "C", "u", properties: new { plan = "Pro" }), Track("c2", t, "C", "u", properties: new { plan = "pro" }),
                Track("c3", t, "C", "u", properties: new { plan = 1 }), Track("c4", t, "C", "u", properties: new { plan = "1" }),
                Track("c5", t, "C", "u"), Track("c6", t, "C", "u", properties: new { other = 1 }),
            ],
            t.AddDays(2));

        lead.Contribution("per-plan").Should().Be(new ReferenceContribution("per-plan", "e", 3, 3, 3));
    }

    [Fact]
    public void Account_traits_come_from_any_lead_up_to_the_instant_and_a_null_removes_them()
    {
        var t = At("2026-10-01T00:00:00Z");
        var lines = new[]
        {
            Identify("i", t, new { title = "x" }, "u"),
            Group("g-u", t, "acme", null, "u"),
            Group("g-v1", t.AddDays(1), "acme", new { industry = "Software" }, "v"),
            Group("g-v2", t.AddDays(3), "acme", new Dictionary<string, object?> { ["industry"] = null }, "v"),
        };

        ReferenceLead U(DateTimeOffset asOf) => ReferenceScorer.Score(SmallModel, lines, asOf, explain: true).Single(l => l.LeadId == "u");

        U(t.AddHours(12)).Contribution("software").Should().BeNull(); // v's group message is later
        U(t.AddDays(2)).Contribution("software").Should().Be(new ReferenceContribution("software", "e", 1, 0, 7)); // "Software" from v
        U(t.AddDays(4)).Contribution("software").Should().BeNull(); // v's null removed it
        ReferenceScorer.Score(SmallModel, lines, t.AddDays(4), explain: true).Select(l => l.LeadId).Should().Equal("u", "v");
    }

    [Fact]
    public void Linked_ids_are_one_lead_reported_under_the_user_id_seen_last()
    {
        var t = At("2026-10-01T00:00:00Z");
        var lines = new[]
        {
            Track("a1", t, "A", anonymousId: "anon"),
            Identify("i1", t.AddHours(1), new { title = "x" }, "old-id", "anon"),
            Alias("al", t.AddHours(2), "new-id", "old-id"),
            Screen("sc", t.AddHours(3), "screen-only"),
        };

        var leads = ReferenceScorer.Score(SmallModel, lines, t.AddDays(1), explain: true);

        leads.Select(l => l.LeadId).Should().Equal("new-id");
        leads[0].Score("s").Should().Be(30);
        leads[0].Persona.Should().Be("named");
    }

    [Fact]
    public void A_retry_counts_once_at_its_earliest_timestamp_and_messages_after_the_as_of_time_do_not_count()
    {
        var t = At("2026-10-01T00:00:00Z");
        var lines = new[]
        {
            Track("b1", t.AddHours(30), "B", "u"), // a retry of b1, later
            Track("b1", t, "B", "u"),
            Track("b2", t.AddHours(25), "B", "u"), // awarded: b1's window ended at t+24h
            Track("b3", t.AddDays(5), "B", "u"), // after T
            Identify("i", t, new { title = "x" }, "u"),
        };

        var lead = Single(SmallModel, lines, t.AddDays(2));

        lead.Contribution("once-a-day").Should().Be(new ReferenceContribution("once-a-day", "e", 2, 0, 8));
    }

    [Fact]
    public void Arrival_order_does_not_change_the_result()
    {
        var t = At("2026-10-01T12:00:00Z");
        var lines = new List<string>
        {
            Identify("i1", t, new { title = "Head of IT", employees = "300" }, "u1", "a1"),
            Page("p1", t.AddHours(-2), "/pricing", anonymousId: "a1"),
            Page("p2", t.AddHours(-1), "/pricing", anonymousId: "a1"),
            Track("s1", t.AddDays(3), "Sales Accepted", "u1"),
            Track("d1", t.AddDays(1), "Demo Requested", "u1"),
        };

        string expected = string.Join("\n", ReferenceScorer.Render(ReferenceScorer.Score(SpecDocuments.ExampleModel, lines, t.AddDays(10), true)));
        lines.Reverse();
        string reversed = string.Join("\n", ReferenceScorer.Render(ReferenceScorer.Score(SpecDocuments.ExampleModel, lines, t.AddDays(10), true)));

        reversed.Should().Be(expected);
        expected.Should().Contain("\"stage\":\"sql\"").And.Contain("{\"from\":\"lead\",\"to\":\"mql\",\"at\":\"2026-10-02T12:00:00Z\"}");
    }

    [Fact]
    public void Rendering_and_reading_back_an_output_line_gives_the_same_lead()
    {
        var t = At("2026-10-01T12:00:00Z");
        var lead = Single(SpecDocuments.ExampleModel, [Track("d1", t, "Demo Requested", "u1"), Identify("i1", t, new { title = "VP" }, "u1")], t.AddDays(45));

        var back = ReferenceLead.FromJson(lead.ToJson());

        ReferenceComparison.Differences([lead], [back]).Should().BeEmpty();
        lead.ToJson().Should().StartWith("{\"leadId\":\"u1\",\"asOf\":\"2026-11-15T12:00:00Z\",\"scores\":{\"fit\":20,");
    }
}
