using LeadScoring.Engine;
using LeadScoring.Messages;
using static LeadScoring.Tests.Scoring.ScoringKit;

namespace LeadScoring.Tests.Scoring;

/// <summary>
/// Spec 3.3: every operator as a trait rule worth 1 point on <c>traits.f</c>, so the score is 1 exactly when the
/// condition holds. In the data rows single quotes stand for JSON double quotes, to keep them readable.
/// </summary>
public sealed class OperatorTests
{
    private static string Json(string singleQuoted) => singleQuoted.Replace('\'', '"');

    private static string TraitRuleModel(string condition) => $$"""
        {
          "name": "ops", "version": "1",
          "scores": [ { "name": "s" } ],
          "rules": [ { "id": "r", "score": "s", "points": 1, "when": {{condition}} } ]
        }
        """;

    private static string Condition(string op, string? value) =>
        value is null
            ? $$"""{ "field": "traits.f", "op": "{{op}}" }"""
            : $$"""{ "field": "traits.f", "op": "{{op}}", "value": {{Json(value)}} }""";

    /// <summary>Score of one lead whose only message is an identify with <paramref name="traitsJson"/>.</summary>
    private static double ScoreWithTraits(string condition, string traitsJson)
    {
        var engine = NewEngine(TraitRuleModel(condition));
        engine.Apply(Msg($$"""{ "type": "identify", "userId": "u1", "messageId": "m1", "timestamp": "2026-11-01T00:00:00Z", "traits": {{traitsJson}} }"""));
        return engine.Eval("u1", Day(1))["s"];
    }

    [Theory]
    // eq: strings case-insensitively, numbers numerically, numeric strings as numbers, booleans.
    [InlineData("eq", "'VP Sales'", "'VP Sales'", true)]
    [InlineData("eq", "'VP Sales'", "'VP Marketing'", false)]
    [InlineData("eq", "'VP Sales'", "'vp SALES'", true)]
    [InlineData("eq", "350", "'350'", true)]
    [InlineData("eq", "350", "350.0", true)]
    [InlineData("eq", "'350'", "350", true)]
    [InlineData("eq", "350", "351", false)]
    [InlineData("eq", "true", "true", true)]
    [InlineData("eq", "true", "false", false)]
    // ne
    [InlineData("ne", "'VP Sales'", "'Director'", true)]
    [InlineData("ne", "'VP Sales'", "'vp sales'", false)]
    [InlineData("ne", "350", "'350.0'", false)]
    // in / notIn
    [InlineData("in", "['US', 'CA']", "'ca'", true)]
    [InlineData("in", "['US', 'CA']", "'DE'", false)]
    [InlineData("in", "[100, 350]", "'350'", true)]
    [InlineData("notIn", "['US', 'CA']", "'DE'", true)]
    [InlineData("notIn", "['US', 'CA']", "'us'", false)]
    // contains / notContains / containsAny
    [InlineData("contains", "'of sal'", "'Head of Sales'", true)]
    [InlineData("contains", "'OF SAL'", "'head of sales'", true)]
    [InlineData("contains", "'of sal'", "'VP Marketing'", false)]
    [InlineData("notContains", "'intern'", "'VP Sales'", true)]
    [InlineData("notContains", "'INTERN'", "'Sales Intern'", false)]
    [InlineData("containsAny", "['VP', 'Director']", "'Marketing director'", true)]
    [InlineData("containsAny", "['VP', 'Director']", "'Engineer'", false)]
    // startsWith / startsWithAny / endsWith / endsWithAny
    [InlineData("startsWith", "'ceo@'", "'CEO@acme.com'", true)]
    [InlineData("startsWith", "'ceo@'", "'team@acme.com'", false)]
    [InlineData("startsWithAny", "['ceo@', 'cfo@']", "'CFO@acme.com'", true)]
    [InlineData("startsWithAny", "['ceo@', 'cfo@']", "'cto@acme.com'", false)]
    [InlineData("endsWith", "'@gmail.com'", "'Bob@GMAIL.COM'", true)]
    [InlineData("endsWith", "'@gmail.com'", "'bob@acme.com'", false)]
    [InlineData("endsWithAny", "['@gmail.com', '@yahoo.com']", "'bob@Yahoo.com'", true)]
    [InlineData("endsWithAny", "['@gmail.com', '@yahoo.com']", "'bob@acme.com'", false)]
    // gt / gte / lt / lte: numbers numerically (numeric strings too, "10" > 9 although "10" < "9" as text).
    [InlineData("gt", "999", "'1e3'", true)]
    [InlineData("gt", "999", "999", false)]
    [InlineData("gt", "999", "'999'", false)]
    [InlineData("gt", "9", "'10'", true)]
    [InlineData("gt", "'B'", "'cherry'", true)]
    [InlineData("gt", "'b'", "'Apple'", false)]
    [InlineData("gte", "200", "200", true)]
    [InlineData("gte", "200", "199.5", false)]
    [InlineData("gte", "'APPLE'", "'apple'", true)]
    [InlineData("lt", "200", "'199'", true)]
    [InlineData("lt", "200", "200", false)]
    [InlineData("lte", "200", "200", true)]
    [InlineData("lte", "200", "200.01", false)]
    // between: inclusive at both ends.
    [InlineData("between", "[200, 5000]", "'350'", true)]
    [InlineData("between", "[200, 5000]", "200", true)]
    [InlineData("between", "[200, 5000]", "5000", true)]
    [InlineData("between", "[200, 5000]", "199.99", false)]
    [InlineData("between", "[200, 5000]", "5001", false)]
    [InlineData("between", "[200, 5000]", "'many'", false)]
    [InlineData("between", "['b', 'm']", "'Kiwi'", true)]
    [InlineData("between", "['b', 'm']", "'zebra'", false)]
    // exists / notExists on a present field.
    [InlineData("exists", null, "'x'", true)]
    [InlineData("notExists", null, "'x'", false)]
    // matches: a regular expression; strings compare case-insensitively.
    [InlineData("matches", @"'^[a-z]+@acme\\.com$'", "'bob@acme.com'", true)]
    [InlineData("matches", @"'^[a-z]+@acme\\.com$'", "'Bob@ACME.com'", true)]
    [InlineData("matches", @"'^[a-z]+@acme\\.com$'", "'bob@acme.org'", false)]
    [InlineData("matches", "'^(vp|chief) '", "'Chief Revenue Officer'", true)]
    public void Operator_OnPresentTrait_HoldsAsSpecified(string op, string? value, string traitValue, bool holds)
    {
        double score = ScoreWithTraits(Condition(op, value), Json($"{{ 'f': {traitValue} }}"));

        score.Should().Be(holds ? 1 : 0);
    }

    [Theory]
    [InlineData("eq", "'x'", false)]
    [InlineData("ne", "'x'", true)]
    [InlineData("in", "['x', 'y']", false)]
    [InlineData("notIn", "['x', 'y']", true)]
    [InlineData("contains", "'x'", false)]
    [InlineData("notContains", "'x'", true)]
    [InlineData("containsAny", "['x', 'y']", false)]
    [InlineData("startsWith", "'x'", false)]
    [InlineData("startsWithAny", "['x', 'y']", false)]
    [InlineData("endsWith", "'x'", false)]
    [InlineData("endsWithAny", "['x', 'y']", false)]
    [InlineData("gt", "0", false)]
    [InlineData("gte", "0", false)]
    [InlineData("lt", "0", false)]
    [InlineData("lte", "0", false)]
    [InlineData("between", "[-1000, 1000]", false)]
    [InlineData("exists", null, false)]
    [InlineData("notExists", null, true)]
    [InlineData("matches", "'.*'", false)]
    public void Operator_OnMissingField_IsFalseExceptNotExistsNeNotInNotContains(string op, string? value, bool holds)
    {
        // The lead has traits, just not 'f'.
        double score = ScoreWithTraits(Condition(op, value), """{ "other": "x" }""");

        score.Should().Be(holds ? 1 : 0);
    }

    [Theory]
    [InlineData("ne", "'x'", true)]
    [InlineData("notExists", null, true)]
    [InlineData("exists", null, false)]
    [InlineData("eq", "'x'", false)]
    public void Operator_OnTraitRemovedByNull_TreatsFieldAsMissing(string op, string? value, bool holds)
    {
        var engine = NewEngine(TraitRuleModel(Condition(op, value)));
        engine.Apply(LeadMessage.Identify("m1", "u1", Day(0), Bag(("f", "x"))));
        engine.Apply(LeadMessage.Identify("m2", "u1", Day(1), Bag(("f", null))));

        engine.Eval("u1", Day(2))["s"].Should().Be(holds ? 1 : 0);
    }

    [Theory]
    [InlineData("""{ "address": { "city": "BERLIN", "country": "DE" } }""", 1)]
    [InlineData("""{ "address": { "city": "Paris" } }""", 0)]
    [InlineData("""{ "address": "Berlin" }""", 0)]
    [InlineData("""{ "city": "Berlin" }""", 0)]
    public void NestedTraitPath_ReachesIntoObjects(string traits, double expected)
    {
        string condition = """{ "field": "traits.address.city", "op": "eq", "value": "berlin" }""";

        ScoreWithTraits(condition, traits).Should().Be(expected);
    }

    [Fact]
    public void NestedTraitPath_ThroughNonObject_IsMissing()
    {
        // traits.address is a string, so traits.address.city does not exist: notExists holds.
        string condition = """{ "field": "traits.address.city", "op": "notExists" }""";

        ScoreWithTraits(condition, """{ "address": "Berlin" }""").Should().Be(1);
    }

    [Fact]
    public void AccountField_ReadsTraitsOfTheLeadsGroup_FromAnyLead()
    {
        var engine = NewEngine("""
            {
              "name": "acct", "version": "1",
              "scores": [ { "name": "fit" } ],
              "rules": [
                { "id": "software", "score": "fit", "points": 10,
                  "when": { "field": "account.industry", "op": "eq", "value": "software" } },
                { "id": "big", "score": "fit", "points": 5,
                  "when": { "field": "account.size.employees", "op": "gte", "value": 1000 } }
              ]
            }
            """);
        // Lead a sets the account's traits; lead b joins the same account without traits; lead c has no account.
        engine.Apply(LeadMessage.Group("g1", "a", "acme", Day(0), Bag(("industry", "Software"), ("size", Bag(("employees", 1200))))));
        engine.Apply(LeadMessage.Group("g2", "b", "acme", Day(1)));
        engine.Apply(LeadMessage.Group("g3", "d", "other", Day(1), Bag(("industry", "retail"))));
        engine.Apply(LeadMessage.Identify("i1", "c", Day(1), Bag(("industry", "software"))));

        engine.Eval("a", Day(2))["fit"].Should().Be(10 + 5);
        engine.Eval("b", Day(2))["fit"].Should().Be(10 + 5);
        engine.Eval("c", Day(2))["fit"].Should().Be(0, "c belongs to no account; its own trait is not account.industry");
        engine.Eval("d", Day(2))["fit"].Should().Be(0);
    }

    [Fact]
    public void AccountField_FollowsTheLatestGroupMessageOfTheLead()
    {
        var engine = NewEngine("""
            {
              "name": "acct", "version": "1",
              "scores": [ { "name": "fit" } ],
              "rules": [ { "id": "software", "score": "fit", "points": 10,
                           "when": { "field": "account.industry", "op": "eq", "value": "software" } } ]
            }
            """);
        engine.Apply(LeadMessage.Group("g1", "a", "acme", Day(0), Bag(("industry", "software"))));
        engine.Apply(LeadMessage.Group("g2", "a", "shop", Day(5), Bag(("industry", "retail"))));

        engine.Eval("a", Day(3))["fit"].Should().Be(10, "at day 3 the lead's account is acme");
        engine.Eval("a", Day(6))["fit"].Should().Be(0, "from day 5 the lead's account is shop");
    }

    private const string EventFieldsModel = """
        {
          "name": "event-fields", "version": "1",
          "scores": [ { "name": "e" } ],
          "rules": [
            { "id": "contact-form", "score": "e", "points": 1, "on": "Form Submitted",
              "when": { "field": "properties.form", "op": "eq", "value": "contact" } },
            { "id": "enterprise-plan", "score": "e", "points": 10, "on": "Plan Viewed",
              "when": { "field": "properties.plan.tier", "op": "in", "value": ["enterprise"] } },
            { "id": "linkedin-page", "score": "e", "points": 100, "on": "$page",
              "when": { "field": "context.campaign.source", "op": "eq", "value": "linkedin" } },
            { "id": "webinar-attended", "score": "e", "points": 1000, "on": ["Webinar Registered", "Webinar Attended"],
              "when": { "field": "event", "op": "eq", "value": "webinar attended" } }
          ]
        }
        """;

    [Fact]
    public void PropertiesField_InEventRuleWhen_ReadsTheMessagesProperties()
    {
        var engine = NewEngine(EventFieldsModel);
        engine.Apply(LeadMessage.Track("t1", "u1", "Form Submitted", Day(0), Bag(("form", "Contact"))));
        engine.Apply(LeadMessage.Track("t2", "u1", "Form Submitted", Day(0.1), Bag(("form", "newsletter"))));
        engine.Apply(LeadMessage.Track("t3", "u1", "Form Submitted", Day(0.2)));
        engine.Apply(LeadMessage.Track("t4", "u1", "Plan Viewed", Day(0.3), Bag(("plan", Bag(("tier", "Enterprise"))))));
        engine.Apply(LeadMessage.Track("t5", "u1", "Plan Viewed", Day(0.4), Bag(("plan", Bag(("tier", "team"))))));

        var r = engine.Eval("u1", Day(1));

        // Only t1 (form "Contact" eq "contact") and t4 (plan.tier "Enterprise" in ["enterprise"]) match: 1 + 10.
        r["e"].Should().Be(1 + 10);
        r.Contribution("contact-form")!.Value.Awards.Should().Be(1);
        r.Contribution("enterprise-plan")!.Value.Awards.Should().Be(1);
    }

    [Fact]
    public void ContextField_InEventRuleWhen_ReadsTheMessagesContext()
    {
        var engine = NewEngine(EventFieldsModel);
        engine.Apply(Msg("""{ "type": "page", "userId": "u1", "messageId": "p1", "timestamp": "2026-11-01T00:00:00Z", "context": { "campaign": { "source": "LinkedIn" } } }"""));
        engine.Apply(Msg("""{ "type": "page", "userId": "u1", "messageId": "p2", "timestamp": "2026-11-01T01:00:00Z", "context": { "campaign": { "source": "google" } } }"""));
        engine.Apply(Msg("""{ "type": "page", "userId": "u1", "messageId": "p3", "timestamp": "2026-11-01T02:00:00Z" }"""));

        // Only p1 has context.campaign.source equal (ignoring case) to "linkedin".
        engine.Eval("u1", Day(1))["e"].Should().Be(100);
    }

    [Fact]
    public void EventField_InEventRuleWhen_IsTheTrackEventName()
    {
        var engine = NewEngine(EventFieldsModel);
        engine.Apply(LeadMessage.Track("t1", "u1", "Webinar Registered", Day(0)));
        engine.Apply(LeadMessage.Track("t2", "u1", "Webinar Attended", Day(1)));

        // Both messages match 'on'; only the attended one has event eq "webinar attended".
        engine.Eval("u1", Day(2))["e"].Should().Be(1000);
    }

    [Fact]
    public void PersonaField_InRules_IsTheLeadsPersona()
    {
        var engine = NewEngine("""
            {
              "name": "persona-rules", "version": "1",
              "scores": [ { "name": "fit" }, { "name": "e" } ],
              "rules": [
                { "id": "buyer-bonus", "score": "fit", "points": 25,
                  "when": { "field": "persona", "op": "eq", "value": "economic-buyer" } },
                { "id": "buyer-demo", "score": "e", "points": 40, "on": "Demo Requested",
                  "when": { "field": "persona", "op": "in", "value": ["economic-buyer"] } }
              ],
              "personas": [
                { "name": "economic-buyer", "when": { "field": "traits.title", "op": "containsAny", "value": ["VP", "Chief"] } },
                { "name": "practitioner", "when": { "field": "traits.title", "op": "exists" } }
              ]
            }
            """);
        engine.Apply(LeadMessage.Identify("i1", "vp", Day(0), Bag(("title", "VP Sales"))));
        engine.Apply(LeadMessage.Track("t1", "vp", "Demo Requested", Day(1)));
        engine.Apply(LeadMessage.Identify("i2", "dev", Day(0), Bag(("title", "Engineer"))));
        engine.Apply(LeadMessage.Track("t2", "dev", "Demo Requested", Day(1)));

        var vp = engine.Eval("vp", Day(2));
        vp["fit"].Should().Be(25);
        vp["e"].Should().Be(40);
        var dev = engine.Eval("dev", Day(2));
        dev["fit"].Should().Be(0);
        dev["e"].Should().Be(0);
        dev.Persona.Should().Be("practitioner");
    }

    [Fact]
    public void PersonaField_InEventRule_IsTheLeadsPersonaWhenTheMessageIsApplied()
    {
        var engine = NewEngine("""
            {
              "name": "persona-rules", "version": "1",
              "scores": [ { "name": "e" } ],
              "rules": [
                { "id": "buyer-demo", "score": "e", "points": 40, "on": "Demo Requested",
                  "when": { "field": "persona", "op": "eq", "value": "economic-buyer" } }
              ],
              "personas": [
                { "name": "economic-buyer", "when": { "field": "traits.title", "op": "contains", "value": "VP" } }
              ]
            }
            """);
        // The demo happens before the lead becomes a VP: at that moment the persona is null, so no award.
        engine.Apply(LeadMessage.Track("t1", "u1", "Demo Requested", Day(0)));
        engine.Apply(LeadMessage.Identify("i1", "u1", Day(1), Bag(("title", "VP Sales"))));
        engine.Apply(LeadMessage.Track("t2", "u1", "Demo Requested", Day(2)));

        var r = engine.Eval("u1", Day(3));
        r["e"].Should().Be(40);
        r.Contribution("buyer-demo")!.Value.Awards.Should().Be(1);
        r.Persona.Should().Be("economic-buyer");
    }
}
