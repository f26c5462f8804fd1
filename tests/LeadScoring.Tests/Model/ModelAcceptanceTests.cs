using System.Collections.Immutable;
using LeadScoring.Model;
using static LeadScoring.Tests.Model.ModelAssertions;
using static LeadScoring.Tests.Model.ModelDocuments;

namespace LeadScoring.Tests.Model;

/// <summary>Spec section 3: the documented example and the sample model load, and are read, written and built alike.</summary>
public sealed class ModelAcceptanceTests
{
    // ---------------------------------------------------------------- the spec's example

    [Fact]
    public void Load_SpecExample_IsValid()
    {
        var result = ScoringModelLoader.Load(SpecExample);

        result.Errors.Should().BeEmpty();
        result.IsValid.Should().BeTrue();
        result.Model!.Name.Should().Be("acme-b2b");
        result.Model.Version.Should().Be("2026.11.1");
        result.Model.Description.Should().BeNull();
    }

    [Fact]
    public void Load_SpecExample_ReadsEveryPart()
    {
        var model = LoadValid(SpecExample);

        model.Scores.Select(s => s.Name).Should().Equal("fit", "engagement", "total");
        model.Rules.Select(r => r.Id).Should().Equal(
            "senior-title", "target-size", "free-mail", "pricing-page", "demo-request", "email-open", "binge-reader", "unsubscribed");
        model.Rules.Where(r => !r.IsEventRule).Select(r => r.Id).Should().Equal("senior-title", "target-size", "free-mail");
        model.Grade!.Bands.Should().HaveCount(4);
        model.Personas.Select(p => p.Name).Should().Equal("economic-buyer", "practitioner");
        model.Stages.Select(s => s.Name).Should().Equal("lead", "mql", "sql");
    }

    [Fact]
    public void Load_SpecExample_ReadsScoresAndCompositeWeights()
    {
        var model = LoadValid(SpecExample);

        var fit = model.Scores[0];
        fit.Min.Should().Be(0);
        fit.Max.Should().Be(100);
        fit.HalfLifeDays.Should().BeNull();
        fit.IsComposite.Should().BeFalse();
        var engagement = model.Scores[1];
        engagement.Min.Should().Be(-50);
        engagement.Max.Should().Be(150);
        engagement.HalfLifeDays.Should().Be(30);
        engagement.IsComposite.Should().BeFalse();
        var total = model.Scores[2];
        total.IsComposite.Should().BeTrue();
        total.Sum.Should().Equal(new KeyValuePair<string, double>("fit", 1), new KeyValuePair<string, double>("engagement", 1));
        (total.Min, total.Max, total.HalfLifeDays).Should().Be(((double?)null, (double?)null, (double?)null));
    }

    [Fact]
    public void Load_SpecExample_ReadsTraitRuleConditions()
    {
        var model = LoadValid(SpecExample);

        var senior = model.Rules[0];
        (senior.Score, senior.Points, senior.On.IsEmpty).Should().Be(("fit", 20d, true));
        var title = senior.When.Should().BeOfType<FieldCondition>().Subject;
        (title.Field, title.Operator).Should().Be(("traits.title", ConditionOperator.ContainsAny));
        title.Value!.Kind.Should().Be(ModelValueKind.Array);
        title.Value.Items.Select(i => i.Text).Should().Equal("VP", "Director", "Head of");

        var size = model.Rules[1].When.Should().BeOfType<FieldCondition>().Subject;
        size.Operator.Should().Be(ConditionOperator.Between);
        size.Value!.Items.Select(i => (i.Kind, i.Number)).Should().Equal((ModelValueKind.Number, 200d), (ModelValueKind.Number, 5000d));

        model.Rules[2].Points.Should().Be(-10);
        model.Rules[2].When.Should().BeOfType<FieldCondition>().Which.Operator.Should().Be(ConditionOperator.EndsWithAny);
    }

    [Fact]
    public void Load_SpecExample_ReadsLimitsAndAfter()
    {
        var model = LoadValid(SpecExample);
        var rules = model.Rules.ToDictionary(r => r.Id);

        var pricing = rules["pricing-page"];
        pricing.On.Should().Equal("$page");
        pricing.Limit.Should().Be(new RuleLimit(3, 30, null));
        pricing.After.Should().BeNull();
        var path = pricing.When.Should().BeOfType<FieldCondition>().Subject;
        (path.Field, path.Operator, path.Value!.Text).Should().Be(("properties.path", ConditionOperator.StartsWith, "/pricing"));

        rules["demo-request"].On.Should().Equal("Demo Requested");
        rules["demo-request"].When.Should().BeNull();
        rules["demo-request"].Limit.Should().BeNull();

        var emailOpen = rules["email-open"];
        emailOpen.Limit.Should().Be(new RuleLimit(1, null, "properties.emailId"));
        emailOpen.MaxPoints.Should().Be(10);
        emailOpen.MinPoints.Should().BeNull();

        var binge = rules["binge-reader"];
        binge.After.Should().Be(new RuleAfter(3, 1));
        binge.Limit.Should().Be(new RuleLimit(1, 1, null));

        rules["unsubscribed"].Limit.Should().Be(new RuleLimit(1, null, null));
        rules["unsubscribed"].Points.Should().Be(-30);
        model.Rules.Should().OnlyContain(r => r.HalfLifeDays == null && r.ExpiresAfterDays == null);
    }

    [Fact]
    public void Load_SpecExample_ReadsGradeBandsInOrder()
    {
        var model = LoadValid(SpecExample);

        model.Grade!.Score.Should().Be("fit");
        model.Grade.Bands.Should().Equal(new GradeBand("A", 40), new GradeBand("B", 25), new GradeBand("C", 10), new GradeBand("D", null));
    }

    [Fact]
    public void Load_SpecExample_ReadsPersonas()
    {
        var model = LoadValid(SpecExample);

        var buyer = model.Personas[0].When.Should().BeOfType<FieldCondition>().Subject;
        buyer.Value!.Items.Select(i => i.Text).Should().Equal("VP", "Chief");
        var practitioner = model.Personas[1].When.Should().BeOfType<FieldCondition>().Subject;
        (practitioner.Field, practitioner.Operator, practitioner.Value).Should().Be(("traits.title", ConditionOperator.Exists, (ModelValue?)null));
    }

    [Fact]
    public void Load_SpecExample_ReadsStageConditions()
    {
        var model = LoadValid(SpecExample);

        var lead = model.Stages[0];
        (lead.Enter, lead.Exit).Should().Be(((Condition?)null, (Condition?)null));

        var mql = model.Stages[1];
        var enter = mql.Enter.Should().BeOfType<AllCondition>().Subject;
        enter.Conditions.Cast<FieldCondition>().Select(c => (c.Field, c.Operator, c.Value!.Number)).Should().Equal(
            ("scores.fit", ConditionOperator.Gte, 25d),
            ("scores.engagement", ConditionOperator.Gte, 30d));
        var exit = mql.Exit.Should().BeOfType<FieldCondition>().Subject;
        (exit.Field, exit.Operator, exit.Value!.Number).Should().Be(("scores.engagement", ConditionOperator.Lt, 10d));

        var sql = model.Stages[2];
        var occurred = sql.Enter.Should().BeOfType<OccurredCondition>().Subject;
        occurred.Events.Should().Equal("Sales Accepted");
        occurred.WithinDays.Should().BeNull();
        sql.Exit.Should().BeNull();
    }

    // ---------------------------------------------------------------- the sample model

    [Fact]
    public void LoadFile_SampleModel_IsValid()
    {
        var result = ScoringModelLoader.LoadFile(SampleModelPath);

        result.Errors.Should().BeEmpty();
        var model = result.Model!;
        model.Name.Should().Be("acme-b2b");
        model.Scores.Select(s => s.Name).Should().Equal("fit", "engagement", "intent", "total");
        model.Scores[3].Sum.Should().Equal(
            new KeyValuePair<string, double>("fit", 1), new KeyValuePair<string, double>("engagement", 1), new KeyValuePair<string, double>("intent", 0.5));
        model.Rules.Should().HaveCount(30);
        model.Personas.Should().HaveCount(3);
        model.Stages.Select(s => s.Name).Should().Equal("lead", "mql", "sql", "customer");
    }

    [Fact]
    public void LoadFile_SampleModel_ReadsTheSameAsLoadingItsText()
    {
        var fromFile = ScoringModelLoader.LoadFile(SampleModelPath).Model!;
        var fromText = LoadValid(File.ReadAllText(SampleModelPath));
        using var stream = File.OpenRead(SampleModelPath);
        var fromStream = ScoringModelLoader.Load(stream).Model!;

        fromText.ToJson().Should().Be(fromFile.ToJson());
        fromStream.ToJson().Should().Be(fromFile.ToJson());
    }

    [Fact]
    public void LoadFile_SampleModel_UsesEveryOperator()
    {
        var model = ScoringModelLoader.LoadFile(SampleModelPath).Model!;

        var used = model.Rules.Select(r => r.When).Concat(model.Personas.Select(p => p.When)).Concat(model.Stages.SelectMany(s => new[] { s.Enter, s.Exit }))
            .SelectMany(Leaves).Select(l => l.Operator).ToHashSet();

        used.Should().BeEquivalentTo(Enum.GetValues<ConditionOperator>());
    }

    // ---------------------------------------------------------------- writing and building

    [Theory]
    [InlineData("spec")]
    [InlineData("sample")]
    [InlineData("minimal")]
    public void ToJson_ReloadedModel_WritesTheSameDocument(string which)
    {
        var model = LoadValid(Document(which));

        string once = model.ToJson();
        string twice = LoadValid(once).ToJson();
        string indented = LoadValid(model.ToJson(indented: true)).ToJson();

        twice.Should().Be(once);
        indented.Should().Be(once);
    }

    [Fact]
    public void ToJson_SpecExample_KeepsEveryValue()
    {
        var model = LoadValid(SpecExample);

        string json = model.ToJson();

        json.Should().Contain("\"limit\":{\"count\":1,\"per\":\"properties.emailId\"}")
            .And.Contain("\"after\":{\"count\":3,\"withinDays\":1}")
            .And.Contain("\"sum\":{\"fit\":1,\"engagement\":1}")
            .And.Contain("{\"grade\":\"D\"}")
            .And.Contain("\"enter\":{\"occurred\":\"Sales Accepted\"}")
            .And.Contain("\"value\":[\"VP\",\"Director\",\"Head of\"]");
    }

    [Fact]
    public void Build_SpecExampleInCode_WritesTheSameDocumentAsLoadingIt()
    {
        var built = new ScoringModelBuilder("acme-b2b", "2026.11.1")
            .AddScore("fit", min: 0, max: 100)
            .AddScore("engagement", min: -50, max: 150, halfLifeDays: 30)
            .AddComposite("total", ("fit", 1), ("engagement", 1))
            .AddTraitRule("senior-title", "fit", 20, When.Field("traits.title").ContainsAny("VP", "Director", "Head of"))
            .AddTraitRule("target-size", "fit", 15, When.Field("traits.employees").Between(200, 5000))
            .AddTraitRule("free-mail", "fit", -10, When.Field("traits.email").EndsWithAny("@gmail.com", "@yahoo.com"))
            .AddEventRule("pricing-page", "engagement", 10, on: ["$page"],
                when: When.Field("properties.path").StartsWith("/pricing"), limit: new RuleLimit(3, 30, null))
            .AddEventRule("demo-request", "engagement", 40, on: ["Demo Requested"])
            .AddEventRule("email-open", "engagement", 1, on: ["Email Opened"], limit: new RuleLimit(1, null, "properties.emailId"), maxPoints: 10)
            .AddEventRule("binge-reader", "engagement", 5, on: ["$page"], after: new RuleAfter(3, 1), limit: new RuleLimit(1, 1, null))
            .AddEventRule("unsubscribed", "engagement", -30, on: ["Unsubscribed"], limit: new RuleLimit(1, null, null))
            .WithGrade("fit", ("A", 40), ("B", 25), ("C", 10), ("D", null))
            .AddPersona("economic-buyer", When.Field("traits.title").ContainsAny("VP", "Chief"))
            .AddPersona("practitioner", When.Field("traits.title").Exists())
            .AddStage("lead")
            .AddStage("mql",
                enter: When.All(When.Field("scores.fit").Gte(25), When.Field("scores.engagement").Gte(30)),
                exit: When.Field("scores.engagement").Lt(10))
            .AddStage("sql", enter: When.Occurred("Sales Accepted"))
            .Build();

        built.ToJson().Should().Be(LoadValid(SpecExample).ToJson());
        built.ToJson(indented: true).Should().Be(LoadValid(SpecExample).ToJson(indented: true));
    }

    [Fact]
    public void Build_EveryConditionFactory_WritesTheSameDocumentAsTheJson()
    {
        var built = new ScoringModelBuilder("m", "1")
            .AddScore("fit")
            .AddTraitRule("r", "fit", 1, When.Any(
                When.Field("traits.a").Eq("x"), When.Field("traits.b").Ne(2), When.Field("traits.c").In("x", 1, true),
                When.Field("traits.d").NotIn("y"), When.Field("traits.e").Contains("z"), When.Field("traits.f").NotContains("w"),
                When.Field("traits.g").StartsWith("s"), When.Field("traits.h").StartsWithAny("s", "t"), When.Field("traits.i").EndsWith("e"),
                When.Field("traits.j").Gt(1), When.Field("traits.k").Lte(2.5), When.Field("traits.l").NotExists(),
                When.Field("traits.m").Matches("^a+$"), When.Not(When.Occurred(["A", "B"], withinDays: 7))))
            .Build();

        const string json = """
            { "name": "m", "version": "1", "scores": [ { "name": "fit" } ], "rules": [ { "id": "r", "score": "fit", "points": 1, "when": { "any": [
              { "field": "traits.a", "op": "eq", "value": "x" }, { "field": "traits.b", "op": "ne", "value": 2 },
              { "field": "traits.c", "op": "in", "value": ["x", 1, true] }, { "field": "traits.d", "op": "notIn", "value": ["y"] },
              { "field": "traits.e", "op": "contains", "value": "z" }, { "field": "traits.f", "op": "notContains", "value": "w" },
              { "field": "traits.g", "op": "startsWith", "value": "s" }, { "field": "traits.h", "op": "startsWithAny", "value": ["s", "t"] },
              { "field": "traits.i", "op": "endsWith", "value": "e" }, { "field": "traits.j", "op": "gt", "value": 1 },
              { "field": "traits.k", "op": "lte", "value": 2.5 }, { "field": "traits.l", "op": "notExists" },
              { "field": "traits.m", "op": "matches", "value": "^a+$" }, { "not": { "occurred": ["A", "B"], "withinDays": 7 } } ] } } ] }
            """;
        built.ToJson().Should().Be(LoadValid(json).ToJson());
    }

    [Fact]
    public void Build_BrokenModel_ThrowsListingEveryError()
    {
        var builder = new ScoringModelBuilder("m", "1")
            .AddScore("fit", min: 10, max: 0)
            .AddComposite("total", ("fit", 1), ("intent", 1))
            .AddTraitRule("title", "fitt", 20, When.Field("traits.title").Contains("VP"))
            .AddTraitRule("title", "total", 5, When.Field("scores.fit").Gt(10))
            .AddEventRule("pricing", "fit", 1, on: ["$page"], limit: new RuleLimit(0, -1, "traits.x"))
            .WithGrade("fit", ("A", 10), ("B", 20), ("C", null))
            .AddPersona("buyer", When.Field("properties.plan").Eq("pro"))
            .AddStage("lead", enter: When.Occurred("Signed Up"))
            .AddStage("mql");

        var thrown = builder.Invoking(b => b.Build()).Should().Throw<ModelValidationException>().Which;

        thrown.Errors.Select(e => e.Path).Should().Equal(
            "$.scores[0].max",
            "$.scores[1].sum.intent",
            "$.rules[0].score",
            "$.rules[1].id",
            "$.rules[1].score",
            "$.rules[1].when.field",
            "$.rules[2].limit.count",
            "$.rules[2].limit.perDays",
            "$.rules[2].limit.per",
            "$.grade.bands[1].min",
            "$.personas[0].when.field",
            "$.stages[0].enter",
            "$.stages[1]");
        thrown.Message.Should().Contain("(built in code)").And.Contain("refused with 13 error(s)");
        foreach (var error in thrown.Errors)
        {
            thrown.Message.Should().Contain(error.Path + ": " + error.Message);
        }
    }

    [Fact]
    public void Build_ValidModel_EqualsTheModelLoadedFromItsJson()
    {
        var built = new ScoringModelBuilder("m", "1")
            .WithDescription("built")
            .AddScore("fit", description: "who")
            .AddEventRule("demo", "fit", 40, on: ["Demo Requested", "Demo Booked"], halfLifeDays: 14, expiresAfterDays: 90, maxPoints: 80, minPoints: 0, description: "demos")
            .Build();

        var reloaded = LoadValid(built.ToJson());

        reloaded.ToJson().Should().Be(built.ToJson());
        reloaded.Description.Should().Be("built");
        var rule = reloaded.Rules[0];
        rule.On.Should().Equal("Demo Requested", "Demo Booked");
        rule.HalfLifeDays.Should().Be(14);
        rule.ExpiresAfterDays.Should().Be(90);
        rule.MaxPoints.Should().Be(80);
        rule.MinPoints.Should().Be(0);
        rule.Description.Should().Be("demos");
    }

    private static string Document(string which) => which switch
    {
        "spec" => SpecExample,
        "sample" => File.ReadAllText(SampleModelPath),
        _ => Minimal,
    };

    private static IEnumerable<FieldCondition> Leaves(Condition? condition) => condition switch
    {
        FieldCondition f => [f],
        AllCondition a => a.Conditions.SelectMany(Leaves),
        AnyCondition a => a.Conditions.SelectMany(Leaves),
        NotCondition n => Leaves(n.Condition),
        _ => ImmutableArray<FieldCondition>.Empty,
    };
}
