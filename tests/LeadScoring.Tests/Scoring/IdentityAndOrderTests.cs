using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Output;
using static LeadScoring.Tests.Scoring.ScoringKit;

namespace LeadScoring.Tests.Scoring;

/// <summary>Spec 2.2 (who is the lead) and 2.3 (order, de-duplication, arrival order).</summary>
public sealed class IdentityAndOrderTests
{
    private const string Model = """
        {
          "name": "identity", "version": "1",
          "scores": [ { "name": "fit" }, { "name": "e" } ],
          "rules": [
            { "id": "senior", "score": "fit", "points": 20,
              "when": { "field": "traits.title", "op": "contains", "value": "VP" } },
            { "id": "page", "score": "e", "points": 1, "on": "$page" },
            { "id": "pricing", "score": "e", "points": 10, "on": "$page",
              "when": { "field": "properties.path", "op": "eq", "value": "/pricing" }, "limit": { "count": 2 } },
            { "id": "demo", "score": "e", "points": 100, "on": "Demo Requested" }
          ]
        }
        """;

    private static string AnonymousPage(string messageId, string anonymousId, DateTimeOffset at, string path = "/blog") =>
        $$"""{ "type": "page", "anonymousId": "{{anonymousId}}", "messageId": "{{messageId}}", "timestamp": "{{Iso(at)}}", "properties": { "path": "{{path}}" } }""";

    [Fact]
    public void Lead_IsTheUserId_ElseTheAnonymousId()
    {
        var engine = NewEngine(Model);
        engine.Apply(Msg(AnonymousPage("p1", "anon-1", Day(0))));
        engine.Apply(Msg("""{ "type": "page", "userId": "user-1", "messageId": "p2", "timestamp": "2026-11-01T00:00:00Z" }"""));

        engine.LeadIds().Should().Equal("anon-1", "user-1");
        engine.Eval("anon-1", Day(1)).LeadId.Should().Be("anon-1");
        engine.Eval("user-1", Day(1)).LeadId.Should().Be("user-1");
    }

    [Fact]
    public void MessageWithBothIds_LinksThem_AnonymousHistoryCounts()
    {
        var engine = NewEngine(Model);
        // An anonymous visitor views the pricing page three times (limit 2 for life), then identifies.
        engine.Apply(Msg(AnonymousPage("p1", "anon-1", Day(0), "/pricing")));
        engine.Apply(Msg(AnonymousPage("p2", "anon-1", Day(1), "/pricing")));
        engine.Apply(Msg(AnonymousPage("p3", "anon-1", Day(2), "/pricing")));
        engine.Apply(Msg("""{ "type": "identify", "userId": "ann@acme.com", "anonymousId": "anon-1", "messageId": "i1", "timestamp": "2026-11-04T00:00:00Z", "traits": { "title": "VP Ops" } }"""));
        engine.Apply(LeadMessage.Page("p4", "ann@acme.com", Day(5), Bag(("path", "/pricing"))));

        engine.LeadIds().Should().Equal("ann@acme.com");
        var byUser = engine.Eval("ann@acme.com", Day(6));
        var byAnonymous = engine.Eval("anon-1", Day(6));

        // page: 4 x 1; pricing: 2 x 10 (the first two of the merged history; p3 and p4 suppressed); fit 20.
        byUser.LeadId.Should().Be("ann@acme.com");
        byUser["e"].Should().Be(4 * 1 + 2 * 10);
        byUser["fit"].Should().Be(20);
        byUser.Contribution("pricing").Should().Be(new RuleContribution("pricing", "e", 2, 2, 20));
        LeadResultJson.ToJson(byAnonymous).Should().Be(LeadResultJson.ToJson(byUser));
    }

    [Fact]
    public void AnonymousVisitorWhoIdentifiesLater_GetsOneHistory_InTimestampOrder()
    {
        var engine = NewEngine(Model);
        // The user's own pricing page (day 1) sits between two anonymous ones (days 0 and 2) in time,
        // although it was applied to a separate lead before the link: with limit 2, days 0 and 1 count.
        engine.Apply(LeadMessage.Page("u-p", "bob", Day(1), Bag(("path", "/pricing"))));
        engine.Apply(Msg(AnonymousPage("a-p0", "anon-9", Day(0), "/pricing")));
        engine.Apply(Msg(AnonymousPage("a-p2", "anon-9", Day(2), "/pricing")));
        engine.LeadIds().Should().Equal("anon-9", "bob");

        engine.Apply(Msg("""{ "type": "identify", "userId": "bob", "anonymousId": "anon-9", "messageId": "i1", "timestamp": "2026-11-04T00:00:00Z" }"""));

        engine.LeadIds().Should().Equal("bob");
        var r = engine.Eval("bob", Day(5));
        r.Contribution("pricing").Should().Be(new RuleContribution("pricing", "e", 2, 1, 20));
        r["e"].Should().Be(3 * 1 + 2 * 10);
        engine.Statistics.Merges.Should().Be(1);
    }

    [Fact]
    public void Alias_LinksPreviousIdToUserId()
    {
        var engine = NewEngine(Model);
        engine.Apply(Msg(AnonymousPage("p1", "anon-2", Day(0))));
        engine.Apply(LeadMessage.Track("d1", "carol", "Demo Requested", Day(1)));
        engine.LeadIds().Should().Equal("anon-2", "carol");

        engine.Apply(LeadMessage.Alias("a1", "carol", "anon-2", Day(2)));

        engine.LeadIds().Should().Equal("carol");
        engine.Eval("anon-2", Day(3)).LeadId.Should().Be("carol");
        engine.Eval("carol", Day(3))["e"].Should().Be(1 + 100);
    }

    [Fact]
    public void Lead_IsReportedUnderTheUserIdSeenLast()
    {
        var engine = NewEngine(Model);
        engine.Apply(LeadMessage.Identify("i1", "old@acme.com", Day(0), Bag(("title", "VP"))));
        engine.Apply(LeadMessage.Alias("a1", "new@acme.com", "old@acme.com", Day(1)));

        engine.Eval("old@acme.com", Day(2)).LeadId.Should().Be("new@acme.com");

        // A later message under the old id makes it the one seen last.
        engine.Apply(LeadMessage.Page("p1", "old@acme.com", Day(3)));
        engine.Eval("new@acme.com", Day(4)).LeadId.Should().Be("old@acme.com");
        engine.LeadIds().Should().Equal("old@acme.com");
    }

    [Fact]
    public void Lead_SeenLastIsByTimestamp_NotByArrival()
    {
        var engine = NewEngine(Model);
        engine.Apply(LeadMessage.Alias("a1", "new@acme.com", "old@acme.com", Day(5)));
        // Arrives later but happened earlier: the id seen last stays new@acme.com.
        engine.Apply(LeadMessage.Identify("i1", "old@acme.com", Day(1)));

        engine.Eval("old@acme.com", Day(6)).LeadId.Should().Be("new@acme.com");
    }

    [Fact]
    public void Aliases_Chain_AllIdsAreOneLead()
    {
        var engine = NewEngine(Model);
        engine.Apply(LeadMessage.Page("p1", "a", Day(0)));
        engine.Apply(LeadMessage.Page("p2", "b", Day(0)));
        engine.Apply(LeadMessage.Page("p3", "c", Day(0)));
        engine.Apply(LeadMessage.Alias("x1", "b", "a", Day(1)));
        engine.Apply(LeadMessage.Alias("x2", "c", "b", Day(2)));

        // c is the userId seen last (the alias at day 2).
        engine.LeadIds().Should().Equal("c");
        var r = engine.Eval("a", Day(3));
        r.LeadId.Should().Be("c");
        r["e"].Should().Be(3 * 1);
    }

    [Fact]
    public void Duplicates_ARetryUnderAnotherLinkedIdOfTheSameLead_CountsOnce()
    {
        var engine = NewEngine(Model);
        engine.Apply(Msg(AnonymousPage("m1", "anon-3", Day(0))));
        engine.Apply(Msg("""{ "type": "identify", "anonymousId": "anon-3", "userId": "fay", "messageId": "i1", "timestamp": "2026-11-02T00:00:00Z" }"""));
        engine.Apply(Msg("""{ "type": "page", "anonymousId": "anon-3", "userId": "fay", "messageId": "m1", "timestamp": "2026-11-01T00:00:00Z", "properties": { "path": "/blog" } }"""));

        engine.Eval("fay", Day(3))["e"].Should().Be(1);
        engine.Statistics.Duplicates.Should().Be(1);
    }

    [Fact]
    public void Duplicates_OfAGroupMessage_EarliestCopyFirst_KeepTheEarliest()
    {
        var engine = NewEngine("""
            {
              "name": "acct", "version": "1",
              "scores": [ { "name": "fit" } ],
              "rules": [ { "id": "software", "score": "fit", "points": 10,
                           "when": { "field": "account.industry", "op": "eq", "value": "software" } } ]
            }
            """);
        engine.Apply(LeadMessage.Group("g-1", "u1", "acme", Day(5), Bag(("industry", "software"))));
        engine.Apply(LeadMessage.Group("g-1", "u1", "acme", Day(10), Bag(("industry", "software"))));

        engine.Evaluate("u1", Day(4)).Should().BeNull("only messages up to the as-of time count: the lead does not exist yet");
        engine.Eval("u1", Day(7))["fit"].Should().Be(10);
    }

    [Theory]
    [InlineData(3, 4, 5)]
    [InlineData(3, 5, 4)]
    [InlineData(4, 3, 5)]
    [InlineData(4, 5, 3)]
    [InlineData(5, 3, 4)]
    [InlineData(5, 4, 3)]
    public void Duplicates_OnlyTheEarliestCopyCounts_WhateverTheArrivalOrder(int first, int second, int third)
    {
        var engine = NewEngine("""
            {
              "name": "dedup", "version": "1",
              "scores": [ { "name": "e", "halfLifeDays": 30 } ],
              "rules": [ { "id": "demo", "score": "e", "points": 40, "on": "Demo Requested" } ]
            }
            """);
        foreach (int day in new[] { first, second, third })
        {
            engine.Apply(LeadMessage.Track("retry-me", "u1", "Demo Requested", Day(day)));
        }

        // One award, at day 3 (the earliest copy).
        engine.Statistics.Duplicates.Should().Be(2);
        var r = engine.Eval("u1", Day(33));
        r.Contribution("demo")!.Value.Awards.Should().Be(1);
        r["e"].Should().BeApproximately(40 * Math.Pow(2, -30.0 / 30), Tolerance);
        engine.Eval("u1", Day(3.5))["e"].Should().BeApproximately(40 * Math.Pow(2, -0.5 / 30), Tolerance);
    }

    [Fact]
    public void Duplicates_OfAnIdentify_KeepTheEarliestCopy()
    {
        var engine = NewEngine(Model);
        engine.Apply(LeadMessage.Identify("i-vp", "u1", Day(5), Bag(("title", "VP"))));
        engine.Apply(LeadMessage.Identify("i-eng", "u1", Day(3), Bag(("title", "Engineer"))));
        // A retry of i-vp stamped earlier than i-eng: the earliest copy (day 1) is the one that counts,
        // so the title after day 3 is Engineer.
        engine.Apply(LeadMessage.Identify("i-vp", "u1", Day(1), Bag(("title", "VP"))));

        engine.Eval("u1", Day(2))["fit"].Should().Be(20);
        engine.Eval("u1", Day(6))["fit"].Should().Be(0);
    }

    [Fact]
    public void Duplicates_AreCountedPerLead_SameMessageIdForTwoLeadsCountsTwice()
    {
        var engine = NewEngine(Model);
        engine.Apply(LeadMessage.Track("m1", "u1", "Demo Requested", Day(0)));
        engine.Apply(LeadMessage.Track("m1", "u2", "Demo Requested", Day(0)));

        engine.Eval("u1", Day(1))["e"].Should().Be(100);
        engine.Eval("u2", Day(1))["e"].Should().Be(100);
    }

    [Theory]
    [InlineData("m-a", "Engineer", "m-b", "VP Sales", 20)]
    [InlineData("m-b", "Engineer", "m-a", "VP Sales", 0)]
    public void TiesAtTheSameTimestamp_AreOrderedByMessageId_WhateverTheArrivalOrder(
        string firstId, string firstTitle, string secondId, string secondTitle, double expectedFit)
    {
        // Two identifies at the same instant: the one with the greater messageId (ordinal) is applied last and wins.
        var inOrder = NewEngine(Model);
        inOrder.Apply(LeadMessage.Identify(firstId, "u1", Day(1), Bag(("title", firstTitle))));
        inOrder.Apply(LeadMessage.Identify(secondId, "u1", Day(1), Bag(("title", secondTitle))));
        var reversed = NewEngine(Model);
        reversed.Apply(LeadMessage.Identify(secondId, "u1", Day(1), Bag(("title", secondTitle))));
        reversed.Apply(LeadMessage.Identify(firstId, "u1", Day(1), Bag(("title", firstTitle))));

        inOrder.Eval("u1", Day(2))["fit"].Should().Be(expectedFit);
        reversed.Eval("u1", Day(2))["fit"].Should().Be(expectedFit);
    }

    [Fact]
    public void TiesAtTheSameInstant_WrittenWithDifferentOffsets_AreOrderedByMessageId()
    {
        // 02:00+02:00 and 00:00Z are the same instant: "m-b" > "m-a", so the VP title is applied last.
        var engine = NewEngine(Model);
        engine.Apply(Msg("""{ "type": "identify", "userId": "u1", "messageId": "m-b", "timestamp": "2026-11-01T02:00:00+02:00", "traits": { "title": "VP Sales" } }"""));
        engine.Apply(Msg("""{ "type": "identify", "userId": "u1", "messageId": "m-a", "timestamp": "2026-11-01T00:00:00Z", "traits": { "title": "Engineer" } }"""));

        engine.Eval("u1", Day(1))["fit"].Should().Be(20);
    }

    [Fact]
    public void TiesAtTheSameTimestamp_DecideWhichCandidateTheLimitSuppresses()
    {
        var engine = NewEngine("""
            {
              "name": "ties", "version": "1",
              "scores": [ { "name": "e" } ],
              "rules": [ { "id": "first-form", "score": "e", "points": 10, "on": "Form Submitted",
                           "when": { "field": "properties.form", "op": "exists" }, "limit": { "count": 1 } },
                         { "id": "contact", "score": "e", "points": 1, "on": "Form Submitted",
                           "when": { "field": "properties.form", "op": "eq", "value": "contact" } } ]
            }
            """);
        // "x2" arrives first, but "x1" < "x2" is applied first and takes the single award.
        engine.Apply(LeadMessage.Track("x2", "u1", "Form Submitted", Day(1), Bag(("form", "contact"))));
        engine.Apply(LeadMessage.Track("x1", "u1", "Form Submitted", Day(1), Bag(("form", "newsletter"))));

        var r = engine.Eval("u1", Day(2));
        r.Contribution("first-form").Should().Be(new RuleContribution("first-form", "e", 1, 1, 10));
        r["e"].Should().Be(10 + 1);
    }

    private static List<LeadMessage> Journey() =>
    [
        Msg(AnonymousPage("p01", "anon-7", Day(0), "/pricing")),
        Msg(AnonymousPage("p02", "anon-7", Day(0.5), "/pricing")),
        Msg("""{ "type": "identify", "userId": "dan", "anonymousId": "anon-7", "messageId": "i01", "timestamp": "2026-11-02T00:00:00Z", "traits": { "title": "Engineer" } }"""),
        LeadMessage.Page("p03", "dan", Day(2), Bag(("path", "/pricing"))),
        LeadMessage.Identify("i02", "dan", Day(3), Bag(("title", "VP Engineering"))),
        LeadMessage.Track("d01", "dan", "Demo Requested", Day(4)),
        LeadMessage.Track("d01", "dan", "Demo Requested", Day(4.5)),
        LeadMessage.Identify("i03", "dan", Day(5), Bag(("title", "CTO"))),
        LeadMessage.Page("p04", "dan", Day(5), Bag(("path", "/pricing"))),
        LeadMessage.Identify("e01", "erin", Day(1), Bag(("title", "VP Sales"))),
        LeadMessage.Track("e02", "erin", "Demo Requested", Day(2)),
    ];

    private static string ScoreAll(LeadScoringEngine engine, IEnumerable<LeadMessage> messages)
    {
        foreach (var m in messages)
        {
            engine.Apply(m);
        }

        return string.Join("\n", engine.EvaluateAll(Day(10), explain: true).Select(LeadResultJson.ToJson));
    }

    [Fact]
    public void LateMessages_GiveTheSameResultAsInOrder()
    {
        var inOrderEngine = NewEngine(Model);
        string inOrder = ScoreAll(inOrderEngine, Journey());
        var reversedEngine = NewEngine(Model);
        string reversed = ScoreAll(reversedEngine, Enumerable.Reverse(Journey()));
        var shuffledEngine = NewDefaultEngine(Model);   // every message is within the default 30-day horizon
        var journey = Journey();
        string shuffled = ScoreAll(shuffledEngine, [journey[5], journey[9], journey[2], journey[7], journey[0], journey[10], journey[3], journey[8], journey[1], journey[6], journey[4]]);

        // Hand-worked for dan: pages p01, p02, p03, p04 (4 x 1) of which p01, p02 are the 2 pricing awards (2 x 10);
        // one demo (100; the copy at day 4.5 is a duplicate); title CTO at T: fit 0.
        inOrderEngine.Eval("dan", Day(10))["e"].Should().Be(4 + 20 + 100);
        inOrderEngine.Eval("dan", Day(10))["fit"].Should().Be(0);
        inOrderEngine.Eval("erin", Day(10))["fit"].Should().Be(20);
        reversed.Should().Be(inOrder);
        shuffled.Should().Be(inOrder);
        reversedEngine.Statistics.Late.Should().BeGreaterThan(0);
        shuffledEngine.Statistics.Late.Should().BeGreaterThan(0);
    }

    [Fact]
    public void LateMessage_FromAnotherLeadOfTheAccount_IsPutInItsPlace()
    {
        string model = """
            {
              "name": "accounts", "version": "1",
              "scores": [ { "name": "e" } ],
              "rules": [ { "id": "software-demo", "score": "e", "points": 50, "on": "Demo Requested",
                           "when": { "field": "account.industry", "op": "eq", "value": "software" } } ]
            }
            """;
        // b joins acme at day 0 and requests a demo at day 2; a sets acme's industry at day 1, arriving last.
        var engine = NewEngine(model);
        engine.Apply(LeadMessage.Group("g-b", "b", "acme", Day(0)));
        engine.Apply(LeadMessage.Track("d-b", "b", "Demo Requested", Day(2)));
        engine.Apply(LeadMessage.Group("g-a", "a", "acme", Day(1), Bag(("industry", "software"))));

        engine.Eval("b", Day(3))["e"].Should().Be(50, "at day 2 acme's industry was already software (set at day 1)");

        // The same industry set at day 3, after the demo: no award.
        var later = NewEngine(model);
        later.Apply(LeadMessage.Group("g-b", "b", "acme", Day(0)));
        later.Apply(LeadMessage.Track("d-b", "b", "Demo Requested", Day(2)));
        later.Apply(LeadMessage.Group("g-a", "a", "acme", Day(3), Bag(("industry", "software"))));

        later.Eval("b", Day(4))["e"].Should().Be(0);
    }

    [Theory]
    [InlineData("g-0", 50)]   // "g-0" < "t-1": the account trait is set before the demo at the same instant
    [InlineData("u-9", 0)]    // "u-9" > "t-1": set just after it
    public void AccountTraits_FollowTheSameOrderAcrossLeads_TiesByMessageId(string groupMessageId, double expected)
    {
        var engine = NewEngine("""
            {
              "name": "accounts", "version": "1",
              "scores": [ { "name": "e" } ],
              "rules": [ { "id": "software-demo", "score": "e", "points": 50, "on": "Demo Requested",
                           "when": { "field": "account.industry", "op": "eq", "value": "software" } } ]
            }
            """);
        engine.Apply(LeadMessage.Group("g-b", "b", "acme", Day(0)));
        engine.Apply(LeadMessage.Track("t-1", "b", "Demo Requested", Day(2)));
        engine.Apply(LeadMessage.Group(groupMessageId, "a", "acme", Day(2), Bag(("industry", "software"))));

        engine.Eval("b", Day(3))["e"].Should().Be(expected);
    }

    [Fact]
    public void IgnoredMessageTypes_NeitherCountNorCreateALead()
    {
        var engine = NewEngine(Model);
        var screen = MessageParser.Parse("""{ "type": "screen", "userId": "u-screen", "messageId": "s1", "timestamp": "2026-11-01T00:00:00Z", "name": "Home" }""");

        screen.IsIgnored.Should().BeTrue();
        screen.IsRejected.Should().BeFalse();
        screen.Message.Should().BeNull();
        screen.IgnoredType.Should().Be("screen");
        engine.LeadCount.Should().Be(0);
        engine.Evaluate("u-screen", Day(1)).Should().BeNull();
        engine.EvaluateAll(Day(1)).Should().BeEmpty();
    }

    [Fact]
    public void EvaluateAll_OrdersLeadsByIdOrdinal()
    {
        var engine = NewEngine(Model);
        foreach (var id in new[] { "b", "a", "B", "a-1", "A" })
        {
            engine.Apply(LeadMessage.Identify("i-" + id, id, Day(0)));
        }

        engine.EvaluateAll(Day(1)).Select(r => r.LeadId).Should().Equal("A", "B", "a", "a-1", "b");
    }
}
