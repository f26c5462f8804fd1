using LeadScoring.Engine;
using LeadScoring.Messages;
using static LeadScoring.Tests.Scoring.ScoringKit;

namespace LeadScoring.Tests.Scoring;

/// <summary>Spec 3.2 and 3.5: how rules turn messages into points, each case worked out by hand.</summary>
public sealed class ArithmeticTests
{
    // ------------------------------------------------------------------ trait rules and traits

    private const string FitModel = """
        {
          "name": "fit", "version": "1",
          "scores": [ { "name": "fit", "halfLifeDays": 30 } ],
          "rules": [
            { "id": "senior", "score": "fit", "points": 20,
              "when": { "field": "traits.title", "op": "containsAny", "value": ["VP", "Director"] } },
            { "id": "size", "score": "fit", "points": 15,
              "when": { "field": "traits.employees", "op": "between", "value": [200, 5000] } },
            { "id": "free-mail", "score": "fit", "points": -10,
              "when": { "field": "traits.email", "op": "endsWith", "value": "@gmail.com" } }
          ]
        }
        """;

    [Fact]
    public void TraitRule_AddsPointsUndecayed_WhileItHolds()
    {
        var engine = NewEngine(FitModel);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0), Bag(("title", "VP Sales"), ("employees", 300), ("email", "vp@gmail.com"))));

        // 20 + 15 - 10; the score's half-life does not apply to trait rules, even 90 days later.
        engine.Eval("u1", Day(0))["fit"].Should().Be(20 + 15 - 10);
        engine.Eval("u1", Day(90))["fit"].Should().Be(20 + 15 - 10);
    }

    [Fact]
    public void TraitRule_StopsWhenAnIdentifyChangesOrRemovesTheTrait()
    {
        var engine = NewEngine(FitModel);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0), Bag(("title", "VP Sales"), ("employees", 300))));
        engine.Apply(LeadMessage.Identify("i2", "u1", Day(10), Bag(("title", "Engineer"))));
        engine.Apply(LeadMessage.Identify("i3", "u1", Day(20), Bag(("employees", null))));

        engine.Eval("u1", Day(5))["fit"].Should().Be(20 + 15);
        // title changed; employees kept (traits merge key by key).
        engine.Eval("u1", Day(15))["fit"].Should().Be(15);
        // employees removed by null.
        var r = engine.Eval("u1", Day(25));
        r["fit"].Should().Be(0);
        r.Contributions.Should().BeEmpty("no trait rule holds");
    }

    [Fact]
    public void Traits_MergeAtTopLevel_LaterOverwriteEarlier_NullRemoves()
    {
        var engine = NewEngine("""
            {
              "name": "merge", "version": "1",
              "scores": [ { "name": "s" } ],
              "rules": [
                { "id": "country", "score": "s", "points": 1,
                  "when": { "field": "traits.address.country", "op": "eq", "value": "DE" } },
                { "id": "city", "score": "s", "points": 10,
                  "when": { "field": "traits.address.city", "op": "eq", "value": "Paris" } },
                { "id": "plan", "score": "s", "points": 100,
                  "when": { "field": "traits.plan", "op": "eq", "value": "pro" } },
                { "id": "no-phone", "score": "s", "points": 1000,
                  "when": { "field": "traits.phone", "op": "notExists" } }
              ]
            }
            """);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0), Bag(("address", Bag(("city", "Berlin"), ("country", "DE"))), ("plan", "pro"), ("phone", "123"))));
        engine.Apply(LeadMessage.Identify("i2", "u1", Day(1), Bag(("address", Bag(("city", "Paris"))))));
        engine.Apply(LeadMessage.Identify("i3", "u1", Day(2), Bag(("phone", null))));

        // Day 0: country DE (1) + plan pro (100); phone present, city Berlin.
        engine.Eval("u1", Day(0))["s"].Should().Be(1 + 100);
        // Day 1: address replaced as a whole (top-level merge): city Paris (10), country gone; plan kept (100).
        engine.Eval("u1", Day(1))["s"].Should().Be(10 + 100);
        // Day 2: phone removed by null: no-phone (1000) holds.
        engine.Eval("u1", Day(2))["s"].Should().Be(10 + 100 + 1000);
    }

    [Fact]
    public void AccountTraits_MergeOverEveryGroupMessageOfTheAccount_FromAnyLead_NullRemoves()
    {
        var engine = NewEngine("""
            {
              "name": "account-merge", "version": "1",
              "scores": [ { "name": "fit" } ],
              "rules": [
                { "id": "software", "score": "fit", "points": 1,
                  "when": { "field": "account.industry", "op": "eq", "value": "software" } },
                { "id": "pro", "score": "fit", "points": 10,
                  "when": { "field": "account.plan", "op": "eq", "value": "pro" } }
              ]
            }
            """);
        engine.Apply(LeadMessage.Group("g1", "a", "acme", Day(0), Bag(("industry", "software"), ("plan", "pro"))));
        engine.Apply(LeadMessage.Group("g2", "b", "acme", Day(1), Bag(("industry", "retail"))));   // overwrites industry
        engine.Apply(LeadMessage.Group("g3", "c", "acme", Day(2), Bag(("plan", null))));          // removes plan

        // Lead a reads acme's traits as merged at T, whichever lead sent them.
        engine.Eval("a", Day(0.5))["fit"].Should().Be(1 + 10);
        engine.Eval("a", Day(1.5))["fit"].Should().Be(10);
        engine.Eval("a", Day(2.5))["fit"].Should().Be(0);
    }

    // ------------------------------------------------------------------ event rules

    [Fact]
    public void EventRule_AwardsEachMatchingMessage_NamesCaseInsensitive()
    {
        var engine = NewEngine("""
            {
              "name": "events", "version": "1",
              "scores": [ { "name": "e" } ],
              "rules": [
                { "id": "demo", "score": "e", "points": 40, "on": "Demo Requested" },
                { "id": "webinar", "score": "e", "points": 5, "on": ["Webinar Registered", "Webinar Attended"] },
                { "id": "page", "score": "e", "points": 2, "on": "$page" }
              ]
            }
            """);
        engine.Apply(LeadMessage.Track("t1", "u1", "Demo Requested", Day(0)));
        engine.Apply(LeadMessage.Track("t2", "u1", "demo requested", Day(1)));
        engine.Apply(LeadMessage.Track("t3", "u1", "DEMO REQUESTED", Day(2)));
        engine.Apply(LeadMessage.Track("t4", "u1", "Demo Cancelled", Day(3)));
        engine.Apply(LeadMessage.Track("t5", "u1", "webinar attended", Day(4)));
        engine.Apply(LeadMessage.Track("t6", "u1", "WEBINAR REGISTERED", Day(5)));
        engine.Apply(LeadMessage.Track("t7", "u1", "Webinar Cancelled", Day(6)));
        engine.Apply(LeadMessage.Page("p1", "u1", Day(7), Bag(("path", "/pricing"))));
        engine.Apply(LeadMessage.Page("p2", "u1", Day(8)));
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(9), Bag(("title", "VP"))));

        var r = engine.Eval("u1", Day(10));

        // demo: 3 x 40; webinar: 2 x 5; page: 2 x 2.
        r["e"].Should().Be(3 * 40 + 2 * 5 + 2 * 2);
        r.Contribution("demo").Should().Be(new RuleContribution("demo", "e", 3, 0, 120));
        r.Contribution("webinar").Should().Be(new RuleContribution("webinar", "e", 2, 0, 10));
        r.Contribution("page").Should().Be(new RuleContribution("page", "e", 2, 0, 4));
    }

    [Fact]
    public void Limit_LifetimeCount_AwardsOnlyTheFirstK_AndCountsTheRestAsSuppressed()
    {
        var engine = NewEngine("""
            {
              "name": "limit", "version": "1",
              "scores": [ { "name": "e" } ],
              "rules": [
                { "id": "pricing", "score": "e", "points": 10, "on": "$page", "limit": { "count": 2 } },
                { "id": "unsub", "score": "e", "points": -30, "on": "Unsubscribed", "limit": { "count": 1 } }
              ]
            }
            """);
        for (int i = 0; i < 4; i++)
        {
            engine.Apply(LeadMessage.Page($"p{i}", "u1", Day(i * 100)));
        }

        engine.Apply(LeadMessage.Track("u-a", "u1", "Unsubscribed", Day(1)));
        engine.Apply(LeadMessage.Track("u-b", "u1", "Unsubscribed", Day(500)));

        var r = engine.Eval("u1", Day(1000));

        // 2 awards of 10 (pages at day 0 and 100; 200 and 300 suppressed: a lifetime count) + 1 award of -30.
        r["e"].Should().Be(2 * 10 - 30);
        r.Contribution("pricing").Should().Be(new RuleContribution("pricing", "e", 2, 2, 20));
        r.Contribution("unsub").Should().Be(new RuleContribution("unsub", "e", 1, 1, -30));
    }

    [Fact]
    public void Limit_PricingVisitBeyondCount_IsSuppressed_SlidingWindowWithExactBoundary()
    {
        var engine = NewEngine("""
            {
              "name": "limit", "version": "1",
              "scores": [ { "name": "e" } ],
              "rules": [
                { "id": "pricing", "score": "e", "points": 10, "on": "$page",
                  "when": { "field": "properties.path", "op": "startsWith", "value": "/pricing" },
                  "limit": { "count": 2, "perDays": 10 } }
              ]
            }
            """);
        var pricing = Bag(("path", "/pricing"));
        engine.Apply(LeadMessage.Page("p0", "u1", Day(0), pricing));                    // awards in (-10, 0]: none       -> award
        engine.Apply(LeadMessage.Page("p1", "u1", Day(1), pricing));                    // (-9, 1]: day 0                 -> award
        engine.Apply(LeadMessage.Page("p2", "u1", Day(5), pricing));                    // (-5, 5]: days 0, 1             -> suppressed
        engine.Apply(LeadMessage.Page("p3", "u1", Day(10).AddSeconds(-1), pricing));    // (-1s, 10d-1s]: days 0, 1       -> suppressed
        engine.Apply(LeadMessage.Page("p4", "u1", Day(10), pricing));                   // (0, 10]: day 1 (day 0 is out)  -> award
        engine.Apply(LeadMessage.Page("p5", "u1", Day(11), pricing));                   // (1, 11]: day 10 (day 1 is out) -> award
        engine.Apply(LeadMessage.Page("p6", "u1", Day(12), pricing));                   // (2, 12]: days 10, 11           -> suppressed
        engine.Apply(LeadMessage.Page("x", "u1", Day(13), Bag(("path", "/blog"))));    // 'when' does not hold: no match

        var r = engine.Eval("u1", Day(20));

        r["e"].Should().Be(4 * 10);
        r.Contribution("pricing").Should().Be(new RuleContribution("pricing", "e", 4, 3, 40));
    }

    [Fact]
    public void Limit_Per_KeepsSeparateCountsPerValue_CaseInsensitive_MissingIsItsOwnValue()
    {
        var engine = NewEngine("""
            {
              "name": "per", "version": "1",
              "scores": [ { "name": "e" } ],
              "rules": [
                { "id": "email-open", "score": "e", "points": 1, "on": "Email Opened",
                  "limit": { "count": 1, "per": "properties.emailId" } },
                { "id": "utm", "score": "e", "points": 100, "on": "$page",
                  "limit": { "count": 2, "per": "context.campaign.id" } }
              ]
            }
            """);
        engine.Apply(LeadMessage.Track("o1", "u1", "Email Opened", Day(0), Bag(("emailId", "e1"))));  // e1: award
        engine.Apply(LeadMessage.Track("o2", "u1", "Email Opened", Day(1), Bag(("emailId", "E1"))));  // e1 again: suppressed
        engine.Apply(LeadMessage.Track("o3", "u1", "Email Opened", Day(2), Bag(("emailId", "e2"))));  // e2: award
        engine.Apply(LeadMessage.Track("o4", "u1", "Email Opened", Day(3)));                           // missing: award
        engine.Apply(LeadMessage.Track("o5", "u1", "Email Opened", Day(4), Bag(("other", "x"))));      // missing again: suppressed
        engine.Apply(LeadMessage.Track("o6", "u1", "Email Opened", Day(5), Bag(("emailId", "e2"))));  // e2 again: suppressed

        string Page(string id, string? campaign) => campaign is null
            ? $$"""{ "type": "page", "userId": "u1", "messageId": "{{id}}", "timestamp": "2026-11-02T00:00:00Z" }"""
            : $$"""{ "type": "page", "userId": "u1", "messageId": "{{id}}", "timestamp": "2026-11-02T00:00:00Z", "context": { "campaign": { "id": "{{campaign}}" } } }""";
        engine.Apply(Msg(Page("c1", "spring")));   // spring: 1st -> award
        engine.Apply(Msg(Page("c2", "SPRING")));   // spring: 2nd -> award
        engine.Apply(Msg(Page("c3", "Spring")));   // spring: 3rd -> suppressed
        engine.Apply(Msg(Page("c4", "fall")));     // fall: 1st -> award
        engine.Apply(Msg(Page("c5", null)));       // missing: 1st -> award

        var r = engine.Eval("u1", Day(10));

        r.Contribution("email-open").Should().Be(new RuleContribution("email-open", "e", 3, 3, 3));
        r.Contribution("utm").Should().Be(new RuleContribution("utm", "e", 4, 1, 400));
        r["e"].Should().Be(3 * 1 + 4 * 100);
    }

    [Fact]
    public void Limit_PerWithPerDays_SlidesAWindowPerValue()
    {
        var engine = NewEngine("""
            {
              "name": "per-window", "version": "1",
              "scores": [ { "name": "e" } ],
              "rules": [
                { "id": "email-open", "score": "e", "points": 1, "on": "Email Opened",
                  "limit": { "count": 1, "perDays": 7, "per": "properties.emailId" } }
              ]
            }
            """);
        engine.Apply(LeadMessage.Track("o1", "u1", "Email Opened", Day(0), Bag(("emailId", "e1"))));  // e1 (-7, 0]: none -> award
        engine.Apply(LeadMessage.Track("o2", "u1", "Email Opened", Day(3), Bag(("emailId", "e1"))));  // e1 (-4, 3]: day 0 -> suppressed
        engine.Apply(LeadMessage.Track("o3", "u1", "Email Opened", Day(3), Bag(("emailId", "e2"))));  // e2: none -> award
        engine.Apply(LeadMessage.Track("o4", "u1", "Email Opened", Day(7), Bag(("emailId", "e1"))));  // e1 (0, 7]: day 0 out -> award
        engine.Apply(LeadMessage.Track("o5", "u1", "Email Opened", Day(9), Bag(("emailId", "e2"))));  // e2 (2, 9]: day 3 -> suppressed

        engine.Eval("u1", Day(10)).Contribution("email-open").Should().Be(new RuleContribution("email-open", "e", 3, 2, 3));
    }

    [Fact]
    public void After_AwardsFromTheNthMatchInTheWindow_NonAwardedMatchesCount_ThenLimitApplies()
    {
        var engine = NewEngine("""
            {
              "name": "after", "version": "1",
              "scores": [ { "name": "e" } ],
              "rules": [
                { "id": "binge", "score": "e", "points": 5, "on": "$page",
                  "when": { "field": "properties.path", "op": "startsWith", "value": "/blog" },
                  "after": { "count": 3, "withinDays": 1 }, "limit": { "count": 1, "perDays": 1 } }
              ]
            }
            """);
        var blog = Bag(("path", "/blog/post"));
        // Hours since day 0. Matches in (t - 24h, t], itself included; awards in (t - 24h, t].
        engine.Apply(LeadMessage.Page("h00", "u1", Hour(0), blog));     // matches {0}: 1 < 3                 -> no candidate
        engine.Apply(LeadMessage.Page("h01", "u1", Hour(1), blog));     // {0, 1}: 2                          -> no candidate
        engine.Apply(LeadMessage.Page("h02", "u1", Hour(2), blog));     // {0, 1, 2}: 3 -> candidate; awards none -> award
        engine.Apply(LeadMessage.Page("h03", "u1", Hour(3), blog));     // 4 -> candidate; awards {2}: 1       -> suppressed
        engine.Apply(LeadMessage.Page("h26", "u1", Hour(26), blog));    // (2, 26]: {3, 26}: 2 (2 is out)     -> no candidate
        engine.Apply(LeadMessage.Page("h265", "u1", Hour(26.5), Bag(("path", "/pricing")))); // 'when' fails: not a match
        engine.Apply(LeadMessage.Page("h27", "u1", Hour(27), blog));    // (3, 27]: {26, 27}: 2 (3 is out)    -> no candidate
        engine.Apply(LeadMessage.Page("h28", "u1", Hour(28), blog));    // (4, 28]: {26, 27, 28}: 3 -> candidate; awards (4, 28]: none -> award

        var r = engine.Eval("u1", Day(3));

        r.Contribution("binge").Should().Be(new RuleContribution("binge", "e", 2, 1, 2 * 5));
        r["e"].Should().Be(10);
    }

    [Fact]
    public void After_CountsMatchesThatWereNeverCandidates()
    {
        var engine = NewEngine("""
            {
              "name": "after", "version": "1",
              "scores": [ { "name": "e" } ],
              "rules": [
                { "id": "third-open", "score": "e", "points": 1, "on": "Email Opened",
                  "after": { "count": 3, "withinDays": 10 } }
              ]
            }
            """);
        // Matches at days 0, 1, 2, 3, 12, 13: candidates are those with >= 3 matches in (t - 10, t].
        // day 0: 1; day 1: 2; day 2: 3 -> award; day 3: 4 -> award; day 12: (2, 12] {3, 12}: 2; day 13: (3, 13] {13} + 12: 2.
        foreach (var (id, d) in new[] { ("a", 0), ("b", 1), ("c", 2), ("d", 3), ("e", 12), ("f", 13) })
        {
            engine.Apply(LeadMessage.Track(id, "u1", "Email Opened", Day(d)));
        }

        engine.Eval("u1", Day(20))["e"].Should().Be(2);
    }

    // ------------------------------------------------------------------ decay, expiry, rule clamps

    [Fact]
    public void Decay_UsesTheScoresHalfLife_OrTheRulesOverride()
    {
        var engine = NewEngine("""
            {
              "name": "decay", "version": "1",
              "scores": [ { "name": "e", "halfLifeDays": 30 }, { "name": "flat" } ],
              "rules": [
                { "id": "demo", "score": "e", "points": 10, "on": "Demo Requested" },
                { "id": "visit", "score": "e", "points": 8, "on": "$page", "halfLifeDays": 5 },
                { "id": "call", "score": "flat", "points": 7, "on": "Call Booked" },
                { "id": "ad", "score": "flat", "points": 6, "on": "Ad Clicked", "halfLifeDays": 10 }
              ]
            }
            """);
        engine.Apply(LeadMessage.Track("t1", "u1", "Demo Requested", Day(0)));
        engine.Apply(LeadMessage.Page("p1", "u1", Day(5)));
        engine.Apply(LeadMessage.Track("t2", "u1", "Call Booked", Day(0)));
        engine.Apply(LeadMessage.Track("t3", "u1", "Ad Clicked", Day(5)));

        var r = engine.Eval("u1", Day(15));

        double demo = 10 * Math.Pow(2, -15.0 / 30);   // 15 days old, half-life 30: 10 * 2^-0.5
        double visit = 8 * Math.Pow(2, -10.0 / 5);     // 10 days old, rule half-life 5: 8 / 4
        double ad = 6 * Math.Pow(2, -10.0 / 10);       // score without half-life, rule half-life 10: 6 / 2
        r["e"].Should().BeApproximately(demo + visit, Tolerance);
        r.Contribution("demo")!.Value.Points.Should().BeApproximately(demo, Tolerance);
        r.Contribution("visit")!.Value.Points.Should().BeApproximately(visit, Tolerance);
        r["flat"].Should().BeApproximately(7 + ad, Tolerance, "no half-life: factor 1");
        r.ShouldExplainRaw("e", "flat");
    }

    [Fact]
    public void Decay_OfSeveralAwards_AddsUpEachAwardsDecayedPoints()
    {
        var engine = NewEngine("""
            {
              "name": "decay", "version": "1",
              "scores": [ { "name": "e", "halfLifeDays": 30 } ],
              "rules": [ { "id": "demo", "score": "e", "points": 40, "on": "Demo Requested" } ]
            }
            """);
        engine.Apply(LeadMessage.Track("t1", "u1", "Demo Requested", Day(0)));
        engine.Apply(LeadMessage.Track("t2", "u1", "Demo Requested", Day(30)));
        engine.Apply(LeadMessage.Track("t3", "u1", "Demo Requested", Day(45).AddHours(12)));

        // At day 60: ages 60, 30 and 14.5 days.
        double expected = 40 * Math.Pow(2, -60.0 / 30) + 40 * Math.Pow(2, -30.0 / 30) + 40 * Math.Pow(2, -14.5 / 30);
        engine.Eval("u1", Day(60))["e"].Should().BeApproximately(expected, Tolerance);
    }

    [Fact]
    public void ExpiresAfterDays_CountsAnAwardOnlyWhileYounger_AndStillListsItInAwards()
    {
        var engine = NewEngine("""
            {
              "name": "expiry", "version": "1",
              "scores": [ { "name": "e", "halfLifeDays": 10 } ],
              "rules": [
                { "id": "trial", "score": "e", "points": 10, "on": "Trial Started", "expiresAfterDays": 7 },
                { "id": "demo", "score": "e", "points": 40, "on": "Demo Requested" }
              ]
            }
            """);
        engine.Apply(LeadMessage.Track("t1", "u1", "Trial Started", Day(0)));
        engine.Apply(LeadMessage.Track("t2", "u1", "Demo Requested", Day(0)));

        // Just before day 7: T - t_a < 7, so it counts, decayed by the score's half-life 10.
        var before = engine.Eval("u1", Day(7).AddSeconds(-1));
        double ageDays = (7 * 86400 - 1) / 86400.0;
        before.Contribution("trial")!.Value.Points.Should().BeApproximately(10 * Math.Pow(2, -ageDays / 10), Tolerance);

        // At day 7: T - t_a = 7 is not < 7: expired, points 0, still one award.
        var at = engine.Eval("u1", Day(7));
        at.Contribution("trial").Should().Be(new RuleContribution("trial", "e", 1, 0, 0));
        at["e"].Should().BeApproximately(40 * Math.Pow(2, -7.0 / 10), Tolerance);
        at.ShouldExplainRaw("e");
    }

    [Fact]
    public void MaxPointsAndMinPoints_ClampTheRulesWholeDecayedShare()
    {
        var engine = NewEngine("""
            {
              "name": "rule-clamp", "version": "1",
              "scores": [ { "name": "e" }, { "name": "d", "halfLifeDays": 30 } ],
              "rules": [
                { "id": "opens", "score": "e", "points": 1, "on": "Email Opened", "maxPoints": 3 },
                { "id": "unsub", "score": "e", "points": -30, "on": "Unsubscribed", "minPoints": -40 },
                { "id": "visits", "score": "d", "points": 10, "on": "$page", "maxPoints": 12 },
                { "id": "webinar", "score": "d", "points": 10, "on": "Webinar Attended", "maxPoints": 12 }
              ]
            }
            """);
        for (int i = 0; i < 5; i++)
        {
            engine.Apply(LeadMessage.Track($"o{i}", "u1", "Email Opened", Day(i)));
        }

        engine.Apply(LeadMessage.Track("x1", "u1", "Unsubscribed", Day(1)));
        engine.Apply(LeadMessage.Track("x2", "u1", "Unsubscribed", Day(2)));
        engine.Apply(LeadMessage.Page("p1", "u1", Day(0)));
        engine.Apply(LeadMessage.Page("p2", "u1", Day(30)));
        engine.Apply(LeadMessage.Track("w1", "u1", "Webinar Attended", Day(0)));

        var r = engine.Eval("u1", Day(30));

        // opens: 5 x 1 = 5 -> max 3; unsub: 2 x -30 = -60 -> min -40.
        r.Contribution("opens").Should().Be(new RuleContribution("opens", "e", 5, 0, 3));
        r.Contribution("unsub").Should().Be(new RuleContribution("unsub", "e", 2, 0, -40));
        r["e"].Should().Be(3 - 40);
        // visits: 10 * 2^-1 + 10 * 2^0 = 15 -> max 12; webinar: 10 * 2^-1 = 5, under the max.
        r.Contribution("visits")!.Value.Points.Should().Be(12);
        r.Contribution("webinar")!.Value.Points.Should().BeApproximately(5, Tolerance);
        r["d"].Should().BeApproximately(12 + 5, Tolerance);
        r.ShouldExplainRaw("e", "d");
    }

    // ------------------------------------------------------------------ score clamps, composites, grades, personas

    [Fact]
    public void ScoreMinMax_ClampTheValue_ButNotTheRaw()
    {
        var engine = NewEngine("""
            {
              "name": "score-clamp", "version": "1",
              "scores": [ { "name": "hi", "max": 50 }, { "name": "lo", "min": -50 } ],
              "rules": [
                { "id": "demo", "score": "hi", "points": 40, "on": "Demo Requested" },
                { "id": "unsub", "score": "lo", "points": -30, "on": "Unsubscribed" }
              ]
            }
            """);
        engine.Apply(LeadMessage.Track("d1", "u1", "Demo Requested", Day(0)));
        engine.Apply(LeadMessage.Track("d2", "u1", "Demo Requested", Day(1)));
        for (int i = 0; i < 3; i++)
        {
            engine.Apply(LeadMessage.Track($"u{i}", "u1", "Unsubscribed", Day(i)));
        }

        var r = engine.Eval("u1", Day(5));

        r["hi"].Should().Be(50);
        r.Raw("hi").Should().Be(2 * 40);
        r["lo"].Should().Be(-50);
        r.Raw("lo").Should().Be(3 * -30);
        r.ShouldExplainRaw("hi", "lo");
    }

    [Fact]
    public void Composite_IsTheClampedWeightedSumOfClampedComponentValues()
    {
        var engine = NewEngine("""
            {
              "name": "composite", "version": "1",
              "scores": [
                { "name": "fit", "min": 0, "max": 100 },
                { "name": "engagement", "min": -50, "max": 150 },
                { "name": "total", "sum": { "fit": 1, "engagement": 0.5 } },
                { "name": "capped", "sum": { "fit": 1, "engagement": 0.5 }, "max": 110 },
                { "name": "nested", "sum": { "capped": 2, "fit": -1 }, "min": 0 }
              ],
              "rules": [
                { "id": "a", "score": "fit", "points": 70 },
                { "id": "b", "score": "fit", "points": 50 },
                { "id": "demo", "score": "engagement", "points": 40, "on": "Demo Requested" }
              ]
            }
            """);
        engine.Apply(LeadMessage.Track("d1", "u1", "Demo Requested", Day(0)));

        var r = engine.Eval("u1", Day(1));

        // fit raw 120 -> value 100; engagement 40.
        r["fit"].Should().Be(100);
        r.Raw("fit").Should().Be(120);
        r["engagement"].Should().Be(40);
        // total = 1 * 100 + 0.5 * 40 = 120 (not 1 * 120 + 20 = 140: components enter clamped).
        r["total"].Should().Be(120);
        // capped = clamp(120, max 110) = 110.
        r["capped"].Should().Be(110);
        // nested = clamp(2 * 110 - 100, min 0) = 120: a composite enters a composite with its clamped value.
        r["nested"].Should().Be(120);
    }

    [Fact]
    public void Composite_OfNegativeComponents_ClampsAtItsMin()
    {
        var engine = NewEngine("""
            {
              "name": "composite", "version": "1",
              "scores": [
                { "name": "engagement", "min": -50 },
                { "name": "total", "sum": { "engagement": 1 }, "min": -20 }
              ],
              "rules": [ { "id": "unsub", "score": "engagement", "points": -70, "on": "Unsubscribed" } ]
            }
            """);
        engine.Apply(LeadMessage.Track("x1", "u1", "Unsubscribed", Day(0)));

        var r = engine.Eval("u1", Day(1));

        r["engagement"].Should().Be(-50);   // raw -70 clamped to -50
        r["total"].Should().Be(-20);        // clamp(1 * -50, min -20)
    }

    private static string GradeModel(double points) => $$"""
        {
          "name": "grades", "version": "1",
          "scores": [ { "name": "fit", "min": -100, "max": 45 } ],
          "rules": [ { "id": "all", "score": "fit", "points": {{points.ToString(System.Globalization.CultureInfo.InvariantCulture)}} } ],
          "grade": { "score": "fit", "bands": [
            { "grade": "A", "min": 40 }, { "grade": "B", "min": 25 }, { "grade": "C", "min": 10 }, { "grade": "D" } ] }
        }
        """;

    [Theory]
    [InlineData(40, "A")]
    [InlineData(39.5, "B")]
    [InlineData(25, "B")]
    [InlineData(24.99, "C")]
    [InlineData(10, "C")]
    [InlineData(9, "D")]
    [InlineData(-5, "D")]
    [InlineData(1000, "A")]  // raw 1000, value clamped to 45: still A
    public void Grade_IsTheFirstBandWhoseMinIsAtMostTheValue_LastCatchesTheRest(double points, string grade)
    {
        var engine = NewEngine(GradeModel(points));
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0)));

        engine.Eval("u1", Day(1)).Grade.Should().Be(grade);
    }

    [Fact]
    public void Grade_UsesTheClampedValue_NotTheRaw()
    {
        var engine = NewEngine("""
            {
              "name": "grades", "version": "1",
              "scores": [ { "name": "fit", "max": 30 } ],
              "rules": [ { "id": "all", "score": "fit", "points": 50 } ],
              "grade": { "score": "fit", "bands": [ { "grade": "A", "min": 40 }, { "grade": "B", "min": 25 }, { "grade": "C" } ] }
            }
            """);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0)));

        // raw 50 would be A; the value is clamped to 30: B.
        engine.Eval("u1", Day(1)).Grade.Should().Be("B");
    }

    private const string PersonaModel = """
        {
          "name": "personas", "version": "1",
          "scores": [ { "name": "fit" } ],
          "personas": [
            { "name": "economic-buyer", "when": { "field": "traits.title", "op": "containsAny", "value": ["VP", "Chief"] } },
            { "name": "enterprise-user", "when": { "field": "account.plan", "op": "eq", "value": "enterprise" } },
            { "name": "practitioner", "when": { "field": "traits.title", "op": "exists" } }
          ]
        }
        """;

    [Theory]
    [InlineData("VP Sales", null, "economic-buyer")]       // matches 1 and 3: the first wins
    [InlineData("Chief of Staff", "enterprise", "economic-buyer")]
    [InlineData("Engineer", "enterprise", "enterprise-user")]
    [InlineData("Engineer", "team", "practitioner")]
    [InlineData(null, "team", null)]
    [InlineData(null, null, null)]
    public void Persona_IsTheFirstThatHolds_NullWhenNone(string? title, string? plan, string? persona)
    {
        var engine = NewEngine(PersonaModel);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0), title is null ? Bag() : Bag(("title", title))));
        if (plan is not null)
        {
            engine.Apply(LeadMessage.Group("g1", "u1", "acct", Day(0), Bag(("plan", plan))));
        }

        engine.Eval("u1", Day(1)).Persona.Should().Be(persona);
    }

    // ------------------------------------------------------------------ as-of time

    [Fact]
    public void AsOf_MessagesAfterTDoNotCount_MessagesAtTDo()
    {
        var engine = NewEngine("""
            {
              "name": "as-of", "version": "1",
              "scores": [ { "name": "fit" }, { "name": "e", "halfLifeDays": 10 } ],
              "rules": [
                { "id": "senior", "score": "fit", "points": 20,
                  "when": { "field": "traits.title", "op": "contains", "value": "VP" } },
                { "id": "demo", "score": "e", "points": 40, "on": "Demo Requested", "limit": { "count": 1 } },
                { "id": "visit", "score": "e", "points": 4, "on": "$page" }
              ]
            }
            """);
        // Every message is applied before evaluating.
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0), Bag(("title", "VP Sales"))));
        engine.Apply(LeadMessage.Page("p1", "u1", Day(1)));
        engine.Apply(LeadMessage.Track("d1", "u1", "Demo Requested", Day(5)));
        engine.Apply(LeadMessage.Identify("i2", "u1", Day(8), Bag(("title", "Engineer"))));
        engine.Apply(LeadMessage.Track("d2", "u1", "Demo Requested", Day(9)));
        engine.Apply(LeadMessage.Page("p2", "u1", Day(10)));

        var atFour = engine.Eval("u1", Day(4));
        atFour["fit"].Should().Be(20);
        atFour["e"].Should().BeApproximately(4 * Math.Pow(2, -3.0 / 10), Tolerance);
        atFour.Contribution("demo").Should().BeNull();

        // T exactly at the demo: t <= T counts, age 0.
        var atFive = engine.Eval("u1", Day(5));
        atFive["e"].Should().BeApproximately(4 * Math.Pow(2, -4.0 / 10) + 40, Tolerance);
        atFive.Contribution("demo").Should().Be(new RuleContribution("demo", "e", 1, 0, 40));

        var atTwenty = engine.Eval("u1", Day(20));
        atTwenty["fit"].Should().Be(0, "the title changed on day 8");
        atTwenty["e"].Should().BeApproximately(
            4 * Math.Pow(2, -19.0 / 10) + 40 * Math.Pow(2, -15.0 / 10) + 4 * Math.Pow(2, -10.0 / 10), Tolerance);
        atTwenty.Contribution("demo").Should().Be(new RuleContribution("demo", "e", 1, 1, 40 * Math.Pow(2, -15.0 / 10)));

        // The earlier instant again, after a later one was asked for: still the same.
        engine.Eval("u1", Day(4))["e"].Should().BeApproximately(4 * Math.Pow(2, -3.0 / 10), Tolerance);
    }

    // ------------------------------------------------------------------ explanation adds up

    [Fact]
    public void Explanation_PointsOfEachScoresRules_AddUpToItsRaw()
    {
        // The contract's own example model (section 3).
        var engine = NewEngine(LeadScoring.Tests.Shared.SpecDocuments.ExampleModel);
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(0), Bag(("title", "Head of IT"), ("employees", "350"), ("email", "x@gmail.com"))));
        for (int i = 0; i < 4; i++)
        {
            engine.Apply(LeadMessage.Page($"p{i}", "u1", Hour(1 + i), Bag(("path", "/pricing"))));
        }

        engine.Apply(LeadMessage.Track("d1", "u1", "Demo Requested", Day(10)));
        for (int i = 0; i < 12; i++)
        {
            engine.Apply(LeadMessage.Track($"o{i}", "u1", "Email Opened", Day(11), Bag(("emailId", $"mail-{i % 11}"))));
        }

        engine.Apply(LeadMessage.Track("x1", "u1", "Unsubscribed", Day(12)));

        var r = engine.Eval("u1", Day(15));

        // fit: 20 + 15 - 10 = 25.
        r["fit"].Should().Be(25);
        // pricing-page: pages at hours 1..4 of day 0; 3 awarded (the 4th is the 4th in 30 days), ages ~15 days.
        double pricing = 0;
        for (int i = 0; i < 3; i++)
        {
            pricing += 10 * Math.Pow(2, -(15 - (1 + i) / 24.0) / 30);
        }

        // binge-reader: the 3rd page (hour 3) is the 3rd in a day: award; the 4th is suppressed by its limit.
        double binge = 5 * Math.Pow(2, -(15 - 3 / 24.0) / 30);
        // demo at day 10; 11 distinct emails opened on day 11 (12 opens, one repeated): 11 x 2^(-4/30) -> max 10;
        // unsubscribed once at day 12.
        double demo = 40 * Math.Pow(2, -5.0 / 30);
        double opens = Math.Min(11 * Math.Pow(2, -4.0 / 30), 10);
        double unsub = -30 * Math.Pow(2, -3.0 / 30);
        r.Raw("engagement").Should().BeApproximately(pricing + binge + demo + opens + unsub, Tolerance);
        r.Contribution("pricing-page").Should().Match<RuleContribution?>(c => c!.Value.Awards == 3 && c.Value.Suppressed == 1);
        r.Contribution("binge-reader").Should().Match<RuleContribution?>(c => c!.Value.Awards == 1 && c.Value.Suppressed == 1);
        r.Contribution("email-open").Should().Match<RuleContribution?>(c => c!.Value.Awards == 11 && c.Value.Suppressed == 1 && c.Value.Points == 10);
        r["total"].Should().BeApproximately(25 + r["engagement"], Tolerance);
        r.ShouldExplainRaw("fit", "engagement");
    }
}
