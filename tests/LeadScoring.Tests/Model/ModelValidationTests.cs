using System.Text;
using LeadScoring.Model;
using static LeadScoring.Tests.Model.ModelAssertions;
using static LeadScoring.Tests.Model.ModelDocuments;

namespace LeadScoring.Tests.Model;

/// <summary>
/// Spec section 4: one test per validation rule (and per extra check of ModelDocumentReader). Each test breaks
/// one thing in <see cref="ModelDocuments.Minimal"/> and checks the error's JSON path, the key words of its
/// message and, where cheap, its line and column.
/// </summary>
public sealed class ModelValidationTests
{
    private const string RuleOwner = "rule 'senior-title': ";

    private static string RuleWhen(string condition) => Minimal.With(TraitRuleCondition, condition);

    private static string PersonaWhen(string condition) => Minimal.With(PersonaCondition, condition);

    private static string StageEnter(string condition) => Minimal.With(StageCondition, condition);

    private static string AddScore(string score) =>
        Minimal.With("""{ "name": "total", "sum": { "fit": 1, "engagement": 0.5 } }""", """{ "name": "total", "sum": { "fit": 1, "engagement": 0.5 } }, """ + score);

    private static string AddRule(string rule) =>
        Minimal.With("""{ "count": 2, "withinDays": 1 } }""", """{ "count": 2, "withinDays": 1 } }, """ + rule);

    // ---------------------------------------------------------------- the starting point

    [Fact]
    public void Load_MinimalModel_IsValid()
    {
        var model = LoadValid(Minimal);

        model.Scores.Should().HaveCount(3);
        model.Rules.Should().HaveCount(2);
        model.Grade!.Bands.Should().HaveCount(3);
        model.Personas.Should().ContainSingle();
        model.Stages.Should().HaveCount(2);
    }

    // ---------------------------------------------------------------- unknown keys

    [Fact]
    public void Load_UnknownTopLevelKey_ReportsPathAndSuggestion()
    {
        string json = Minimal.With("\"version\": \"1.0.0\"", "\"version\": \"1.0.0\",\n  \"persona\": []");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.persona");
        error.Message.Should().Contain("unknown key 'persona'").And.Contain("did you mean 'personas'");
        error.ShouldBeAt(json, "\"persona\"");
    }

    [Fact]
    public void Load_UnknownTopLevelKeyWithoutNearMatch_ListsTheKnownKeys()
    {
        string json = Minimal.With("\"version\": \"1.0.0\"", "\"version\": \"1.0.0\", \"owner\": \"marketing\"");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.owner");
        error.Message.Should().Contain("the model: unknown key 'owner'")
            .And.Contain("known keys: name, version, description, scores, rules, grade, personas, stages")
            .And.NotContain("did you mean");
        error.ShouldBeAt(json, "\"owner\"");
    }

    [Fact]
    public void Load_SchemaKeyAtTopLevel_IsAllowed()
    {
        string json = Minimal.With("\"name\": \"minimal\",", "\"$schema\": \"../../schema/scoring-model.schema.json\",\n  \"name\": \"minimal\",");

        var model = LoadValid(json);

        model.ToJson().Should().NotContain("$schema");
    }

    [Fact]
    public void Load_SchemaKeyThatIsNotAString_ReportsSchemaPath()
    {
        string json = Minimal.With("\"name\": \"minimal\",", "\"$schema\": 7, \"name\": \"minimal\",");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.$schema");
        error.Message.Should().Contain("$schema must be a string");
        error.ShouldBeAt(json, "7,");
    }

    [Fact]
    public void Load_SchemaKeyInsideAScore_IsAnUnknownKey()
    {
        string json = Minimal.With("""{ "name": "fit", "min": 0""", """{ "name": "fit", "$schema": "x", "min": 0""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.scores[0].$schema");
        error.Message.Should().Contain("a score: unknown key '$schema'");
    }

    [Fact]
    public void Load_UnknownKeyInScore_ReportsPathAndSuggestion()
    {
        string json = Minimal.With("\"halfLifeDays\": 30", "\"halflifedays\": 30");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.scores[1].halflifedays");
        error.Message.Should().Contain("a score: unknown key 'halflifedays'").And.Contain("did you mean 'halfLifeDays'");
        error.ShouldBeAt(json, "\"halflifedays\"");
    }

    [Fact]
    public void Load_UnknownKeyInRule_ReportsPathAndSuggestion()
    {
        string json = Minimal.With("\"points\": 20,", "\"points\": 20, \"descripton\": \"decision makers\",");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].descripton");
        error.Message.Should().Contain("a rule: unknown key 'descripton'").And.Contain("did you mean 'description'");
        error.ShouldBeAt(json, "\"descripton\"");
    }

    [Fact]
    public void Load_UnknownKeyInLimit_ReportsPathAndSuggestion()
    {
        string json = Minimal.With("\"limit\": { \"count\": 3, \"perDays\": 30 }", "\"limit\": { \"count\": 3, \"perDay\": 30 }");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[1].limit.perDay");
        error.Message.Should().Contain("rule 'pricing-page': 'limit': unknown key 'perDay'").And.Contain("did you mean 'perDays'");
        error.ShouldBeAt(json, "\"perDay\"");
    }

    [Fact]
    public void Load_UnknownKeyInAfter_ReportsPathAndKnownKeys()
    {
        string json = Minimal.With("\"after\": { \"count\": 2, \"withinDays\": 1 }", "\"after\": { \"count\": 2, \"withinDays\": 1, \"perDays\": 1 }");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[1].after.perDays");
        error.Message.Should().Contain("rule 'pricing-page': 'after': unknown key 'perDays'").And.Contain("known keys: count, withinDays");
        error.ShouldBeAt(json, "\"perDays\"", after: "\"after\"");
    }

    [Fact]
    public void Load_UnknownKeyInGrade_ReportsPath()
    {
        string json = Minimal.With("\"grade\": { \"score\": \"fit\",", "\"grade\": { \"score\": \"fit\", \"scale\": \"A-C\",");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.grade.scale");
        error.Message.Should().Contain("the grade: unknown key 'scale'").And.Contain("known keys: score, bands");
        error.ShouldBeAt(json, "\"scale\"");
    }

    [Fact]
    public void Load_UnknownKeyInGradeBand_ReportsPath()
    {
        string json = Minimal.With("{ \"grade\": \"B\", \"min\": 20 }", "{ \"grade\": \"B\", \"min\": 20, \"label\": \"warm\" }");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.grade.bands[1].label");
        error.Message.Should().Contain("a grade band: unknown key 'label'");
        error.ShouldBeAt(json, "\"label\"");
    }

    [Fact]
    public void Load_UnknownKeyInPersona_ReportsPath()
    {
        string json = Minimal.With("{ \"name\": \"buyer\",", "{ \"name\": \"buyer\", \"priority\": 1,");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.personas[0].priority");
        error.Message.Should().Contain("a persona: unknown key 'priority'");
        error.ShouldBeAt(json, "\"priority\"");
    }

    [Fact]
    public void Load_UnknownKeyInStage_ReportsPath()
    {
        string json = Minimal.With("{ \"name\": \"lead\" }", "{ \"name\": \"lead\", \"color\": \"grey\" }");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.stages[0].color");
        error.Message.Should().Contain("a stage: unknown key 'color'");
        error.ShouldBeAt(json, "\"color\"");
    }

    [Fact]
    public void Load_UnknownKeyInFieldCondition_ReportsPath()
    {
        string json = RuleWhen("""{ "field": "traits.title", "op": "contains", "value": "VP", "caseSensitive": true }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when.caseSensitive");
        error.Message.Should().Contain(RuleOwner + "a condition: unknown key 'caseSensitive'").And.Contain("known keys: field, op, value");
        error.ShouldBeAt(json, "\"caseSensitive\"");
    }

    [Fact]
    public void Load_ConditionWithOnlyUnknownKeys_ListsTheConditionForms()
    {
        string json = RuleWhen("""{ "feild": "traits.title" }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when.feild");
        error.Message.Should().Contain(RuleOwner + "unknown key 'feild' in a condition").And.Contain("'field'/'op'/'value', 'all', 'any', 'not' or 'occurred'");
        error.ShouldBeAt(json, "\"feild\"");
    }

    [Fact]
    public void Load_UnknownKeyInAllCondition_ReportsPath()
    {
        string json = RuleWhen("""{ "all": [ { "field": "traits.title", "op": "exists" } ], "note": "x" }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when.note");
        error.Message.Should().Contain(RuleOwner + "an 'all' condition: unknown key 'note'");
    }

    [Fact]
    public void Load_ConditionWithBothAllAndAny_ReportsTheSecondAsUnknown()
    {
        string json = RuleWhen("""{ "all": [], "any": [] }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when.any");
        error.Message.Should().Contain("an 'all' condition: unknown key 'any'");
    }

    [Fact]
    public void Load_UnknownKeyInOccurredCondition_ReportsPath()
    {
        string json = StageEnter("""{ "occurred": "Demo Requested", "within": 30 }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.stages[1].enter.within");
        error.Message.Should().Contain("stage 'mql': an 'occurred' condition: unknown key 'within'");
        error.ShouldBeAt(json, "\"within\"");
    }

    [Fact]
    public void Load_EmptyCondition_ReportsConditionPath()
    {
        string json = RuleWhen("{}");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when");
        error.Message.Should().Contain(RuleOwner + "an empty condition");
    }

    [Fact]
    public void Load_KeyThatIsNotAnIdentifier_IsQuotedInThePath()
    {
        string json = Minimal.With("""{ "name": "fit", "min": 0""", """{ "name": "fit", "max points": 1, "min": 0""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.scores[0]['max points']");
        error.Message.Should().Contain("unknown key 'max points'");
    }

    [Fact]
    public void Load_KeyWrittenTwiceInOneObject_ReportsTheSecond()
    {
        string json = Minimal.With("""{ "name": "fit", "min": 0, "max": 100 }""", """{ "name": "fit", "min": 0, "max": 100, "min": 5 }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.scores[0].min");
        error.Message.Should().Contain("key 'min' appears twice");
        error.ShouldBeAt(json, "\"min\": 5");
    }

    // ---------------------------------------------------------------- required keys, types, empty values

    [Theory]
    [InlineData("'name': 'minimal',", "", "$", "the model: 'name' is required")]
    [InlineData(",\n  'version': '1.0.0'", "", "$", "the model: 'version' is required")]
    [InlineData("{ 'id': 'senior-title', ", "{ ", "$.rules[0]", "a rule: 'id' is required")]
    [InlineData("'score': 'fit', 'points': 20,", "'points': 20,", "$.rules[0]", "a rule: 'score' is required")]
    [InlineData("'points': 20, ", "", "$.rules[0]", "a rule: 'points' is required")]
    [InlineData("'limit': { 'count': 3, 'perDays': 30 }", "'limit': { 'perDays': 30 }", "$.rules[1].limit", "rule 'pricing-page': 'limit': 'count' is required")]
    [InlineData("'after': { 'count': 2, 'withinDays': 1 }", "'after': { 'withinDays': 1 }", "$.rules[1].after", "rule 'pricing-page': 'after': 'count' is required")]
    [InlineData("'after': { 'count': 2, 'withinDays': 1 }", "'after': { 'count': 2 }", "$.rules[1].after", "rule 'pricing-page': 'after': 'withinDays' is required")]
    [InlineData("'grade': { 'score': 'fit', ", "'grade': { ", "$.grade", "the grade: 'score' is required")]
    [InlineData(", 'bands': [ { 'grade': 'A', 'min': 40 }, { 'grade': 'B', 'min': 20 }, { 'grade': 'C' } ]", "", "$.grade", "the grade: 'bands' is required")]
    [InlineData("{ 'grade': 'B', 'min': 20 }", "{ 'min': 20 }", "$.grade.bands[1]", "a grade band: 'grade' is required")]
    [InlineData("'name': 'buyer', ", "", "$.personas[0]", "a persona: 'name' is required")]
    [InlineData(", 'when': { 'field': 'traits.title', 'op': 'exists' }", "", "$.personas[0]", "a persona: 'when' is required")]
    [InlineData("{ 'name': 'lead' }", "{ }", "$.stages[0]", "a stage: 'name' is required")]
    [InlineData("{ 'field': 'traits.title', 'op': 'contains', 'value': 'VP' }", "{ 'op': 'contains', 'value': 'VP' }", "$.rules[0].when", "a condition: 'field' is required")]
    [InlineData("{ 'field': 'traits.title', 'op': 'contains', 'value': 'VP' }", "{ 'field': 'traits.title', 'value': 'VP' }", "$.rules[0].when", "a condition: 'op' is required")]
    [InlineData("{ 'field': 'traits.title', 'op': 'contains', 'value': 'VP' }", "{ 'field': 'traits.title', 'op': 'contains' }", "$.rules[0].when", "operator 'contains' needs a 'value'")]
    public void Load_MissingRequiredKey_ReportsTheObjectPath(string find, string replace, string path, string message)
    {
        string json = Minimal.With(Q(find), Q(replace));

        var error = LoadSingleError(json);

        error.Path.Should().Be(path);
        error.Message.Should().Contain(message);
    }

    [Fact]
    public void Load_ModelWithoutScores_ReportsScoresRequired()
    {
        var error = LoadSingleError("""{ "name": "m", "version": "1" }""");

        error.Path.Should().Be("$");
        error.Message.Should().Contain("the model: 'scores' is required");
        (error.Line, error.Column).Should().Be((1, 1));
    }

    [Fact]
    public void Load_ScoreWithoutName_ReportsTheScorePath()
    {
        string json = AddScore("""{ "min": 0 }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.scores[3]");
        error.Message.Should().Contain("a score: 'name' is required");
        error.ShouldBeAt(json, "{ \"min\": 0 }");
    }

    [Fact]
    public void Load_EmptyScoresArray_ReportsScoresPath()
    {
        const string json = """{ "name": "m", "version": "1", "scores": [] }""";

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.scores");
        error.Message.Should().Contain("'scores' must have at least one item");
        error.ShouldBeAt(json, "[]");
    }

    [Fact]
    public void Load_ScoresThatIsNotAnArray_ReportsScoresPath()
    {
        var error = LoadSingleError("""{ "name": "m", "version": "1", "scores": { "fit": {} } }""");

        error.Path.Should().Be("$.scores");
        error.Message.Should().Contain("'scores' must be an array, not an object");
    }

    [Fact]
    public void Load_EmptyModelName_ReportsNamePath()
    {
        string json = Minimal.With("\"name\": \"minimal\"", "\"name\": \"  \"");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.name");
        error.Message.Should().Contain("'name' must not be empty");
        error.ShouldBeAt(json, "\"  \"");
    }

    [Fact]
    public void Load_VersionThatIsNotAString_ReportsVersionPath()
    {
        string json = Minimal.With("\"version\": \"1.0.0\"", "\"version\": 1");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.version");
        error.Message.Should().Contain("'version' must be a string, not a number");
    }

    [Fact]
    public void Load_DocumentThatIsNotAnObject_ReportsRoot()
    {
        var error = LoadSingleError("[ { \"name\": \"m\" } ]");

        error.Path.Should().Be("$");
        error.Message.Should().Contain("the model must be an object, not an array");
        (error.Line, error.Column).Should().Be((1, 1));
    }

    [Fact]
    public void Load_ScoreThatIsNotAnObject_ReportsItemPath()
    {
        string json = AddScore("\"intent\"");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.scores[3]");
        error.Message.Should().Contain("a score must be an object, not a string");
        error.ShouldBeAt(json, "\"intent\"");
    }

    // ---------------------------------------------------------------- duplicates

    [Fact]
    public void Load_DuplicateScoreName_ReportsTheSecond()
    {
        string json = AddScore("""{ "name": "fit" }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.scores[3].name");
        error.Message.Should().Contain("score 'fit' is defined twice");
        error.Line.Should().Be(6);
    }

    [Fact]
    public void Load_DuplicateRuleId_ReportsTheSecond()
    {
        string json = AddRule("""{ "id": "senior-title", "score": "fit", "points": 5 }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[2].id");
        error.Message.Should().Contain("rule id 'senior-title' is used twice");
        error.ShouldBeAt(json, "\"senior-title\"", occurrence: 2);
    }

    [Fact]
    public void Load_DuplicatePersonaName_ReportsTheSecond()
    {
        string json = Minimal.With("\"op\": \"exists\" } } ]", "\"op\": \"exists\" } }, { \"name\": \"buyer\", \"when\": { \"field\": \"traits.role\", \"op\": \"exists\" } } ]");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.personas[1].name");
        error.Message.Should().Contain("persona 'buyer' is defined twice");
        error.ShouldBeAt(json, "\"buyer\"", occurrence: 2);
    }

    [Fact]
    public void Load_DuplicateStageName_ReportsTheSecond()
    {
        string json = Minimal.With("\"value\": 50 } } ]", "\"value\": 50 } }, { \"name\": \"lead\", \"enter\": { \"occurred\": \"Sales Accepted\" } } ]");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.stages[2].name");
        error.Message.Should().Contain("stage 'lead' is defined twice");
        error.ShouldBeAt(json, "\"lead\"", occurrence: 2);
    }

    [Fact]
    public void Load_DuplicateGradeName_ReportsTheSecond()
    {
        string json = Minimal.With("{ \"grade\": \"B\", \"min\": 20 }", "{ \"grade\": \"A\", \"min\": 20 }");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.grade.bands[1].grade");
        error.Message.Should().Contain("grade 'A' is defined twice");
        error.ShouldBeAt(json, "\"A\"", occurrence: 2);
    }

    [Fact]
    public void Load_ScoreNamedTwiceInOneSum_ReportsTheSecond()
    {
        string json = Minimal.With("\"sum\": { \"fit\": 1, \"engagement\": 0.5 }", "\"sum\": { \"fit\": 1, \"engagement\": 0.5, \"fit\": 2 }");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.scores[2].sum.fit");
        error.Message.Should().Contain("score 'fit' appears twice in 'sum'");
        error.ShouldBeAt(json, "\"fit\": 2");
    }

    // ---------------------------------------------------------------- score references

    [Fact]
    public void Load_RuleWithUnknownScore_ReportsPathAndSuggestion()
    {
        string json = Minimal.With("\"score\": \"engagement\"", "\"score\": \"engagment\"");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[1].score");
        error.Message.Should().Contain("rule 'pricing-page'").And.Contain("score 'engagment' does not exist").And.Contain("did you mean 'engagement'");
        error.ShouldBeAt(json, "\"engagment\"");
    }

    [Fact]
    public void Load_RuleWithUnknownScoreAndNoNearName_GivesNoSuggestion()
    {
        string json = Minimal.With("\"score\": \"engagement\"", "\"score\": \"intent\"");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[1].score");
        error.Message.Should().Contain("score 'intent' does not exist").And.NotContain("did you mean");
    }

    [Fact]
    public void Load_RuleOnCompositeScore_ReportsScorePath()
    {
        string json = Minimal.With("\"score\": \"engagement\"", "\"score\": \"total\"");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[1].score");
        error.Message.Should().Contain("rule 'pricing-page': score 'total' is a composite").And.Contain("takes no rules");
        error.ShouldBeAt(json, "\"total\"", after: "\"pricing-page\"");
    }

    [Fact]
    public void Load_CompositeNamingMissingScore_ReportsWeightPathAndSuggestion()
    {
        string json = Minimal.With("\"engagement\": 0.5", "\"engagment\": 0.5");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.scores[2].sum.engagment");
        error.Message.Should().Contain("score 'total': 'sum' names score 'engagment', which does not exist").And.Contain("did you mean 'engagement'");
        error.ShouldBeAt(json, "\"engagment\"");
    }

    [Fact]
    public void Load_CompositeOfComposite_IsValid()
    {
        var model = LoadValid(AddScore("""{ "name": "grand", "sum": { "total": 2, "fit": 1 } }"""));

        model.Scores[3].Sum.Should().Equal(new KeyValuePair<string, double>("total", 2), new KeyValuePair<string, double>("fit", 1));
    }

    [Fact]
    public void Load_CompositeThatSumsItself_ReportsCycle()
    {
        string json = AddScore("""{ "name": "a", "sum": { "a": 1 } }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.scores[3].sum");
        error.Message.Should().Contain("score 'a': composites form a cycle: a -> a");
    }

    [Fact]
    public void Load_TwoCompositesSummingEachOther_ReportsTheCycle()
    {
        string json = AddScore("""{ "name": "a", "sum": { "b": 1 } }, { "name": "b", "sum": { "a": 1, "fit": 1 } }""");

        var result = ScoringModelLoader.Load(json);

        result.IsValid.Should().BeFalse();
        result.Model.Should().BeNull();
        result.Errors[0].Path.Should().Be("$.scores[3].sum");
        result.Errors[0].Message.Should().Contain("composites form a cycle: a -> b -> a");
        result.Errors.Should().OnlyContain(e => e.Message.Contains("cycle", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_ThreeCompositesInACycle_ReportsTheCycle()
    {
        string json = AddScore("""{ "name": "a", "sum": { "b": 1 } }, { "name": "b", "sum": { "c": 1 } }, { "name": "c", "sum": { "a": 1 } }""");

        var result = ScoringModelLoader.Load(json);

        result.IsValid.Should().BeFalse();
        result.Model.Should().BeNull();
        result.Errors[0].Path.Should().Be("$.scores[3].sum");
        result.Errors[0].Message.Should().Contain("composites form a cycle: a -> b -> c -> a");
        result.Errors.Should().OnlyContain(e => e.Message.Contains("cycle", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_GradeOnMissingScore_ReportsGradeScorePath()
    {
        string json = Minimal.With("\"grade\": { \"score\": \"fit\"", "\"grade\": { \"score\": \"fitt\"");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.grade.score");
        error.Message.Should().Contain("the grade: score 'fitt' does not exist").And.Contain("did you mean 'fit'");
        error.ShouldBeAt(json, "\"fitt\"");
    }

    [Fact]
    public void Load_StageReadingMissingScore_ReportsFieldPath()
    {
        string json = StageEnter("""{ "field": "scores.totl", "op": "gte", "value": 50 }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.stages[1].enter.field");
        error.Message.Should().Contain("stage 'mql': score 'totl' does not exist").And.Contain("did you mean 'total'");
        error.ShouldBeAt(json, "\"scores.totl\"");
    }

    // ---------------------------------------------------------------- composite shape

    [Theory]
    [InlineData("'sum': ['fit']", "$.scores[2].sum", "'sum' must be an object of score weights, not an array")]
    [InlineData("'sum': {}", "$.scores[2].sum", "'sum' must name at least one score")]
    [InlineData("'sum': { 'fit': '1' }", "$.scores[2].sum.fit", "the weight of 'fit' must be a number, not a string")]
    [InlineData("'sum': { 'fit': 1 }, 'halfLifeDays': 7", "$.scores[2].halfLifeDays", "a composite score has no awards to decay")]
    public void Load_MalformedComposite_ReportsPath(string sum, string path, string message)
    {
        string json = Minimal.With("\"sum\": { \"fit\": 1, \"engagement\": 0.5 }", Q(sum));

        var error = LoadSingleError(json);

        error.Path.Should().Be(path);
        error.Message.Should().Contain("score 'total'").And.Contain(message);
    }

    // ---------------------------------------------------------------- numbers

    [Theory]
    [InlineData("'min': 0, 'max': 100", "'min': -1e400, 'max': 100", "$.scores[0].min", "score 'fit': 'min' must be a finite number", "-1e400")]
    [InlineData("'points': 20", "'points': 1e400", "$.rules[0].points", "rule 'senior-title': 'points' must be a finite number", "1e400")]
    [InlineData("'engagement': 0.5", "'engagement': 2e308", "$.scores[2].sum.engagement", "the weight of 'engagement' must be a finite number", "2e308")]
    [InlineData("'min': 40", "'min': 1E999", "$.grade.bands[0].min", "grade band 'A': 'min' must be a finite number", "1E999")]
    [InlineData("'perDays': 30", "'perDays': 9e9999", "$.rules[1].limit.perDays", "'limit': 'perDays' must be a finite number", "9e9999")]
    [InlineData("'value': 50", "'value': 1e400", "$.stages[1].enter.value", "operator 'gte' needs a number or a string as 'value', and it must be finite", "1e400")]
    public void Load_NonFiniteNumber_ReportsItsPath(string find, string replace, string path, string message, string literal)
    {
        string json = Minimal.With(Q(find), Q(replace));

        var error = LoadSingleError(json);

        error.Path.Should().Be(path);
        error.Message.Should().Contain(message);
        error.ShouldBeAt(json, literal);
    }

    [Theory]
    [InlineData("0", "not 0")]
    [InlineData("-30", "not -30")]
    public void Load_ScoreHalfLifeNotAboveZero_ReportsHalfLifePath(string value, string says)
    {
        string json = Minimal.With("\"halfLifeDays\": 30", "\"halfLifeDays\": " + value);

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.scores[1].halfLifeDays");
        error.Message.Should().Contain("score 'engagement': 'halfLifeDays' must be greater than 0").And.Contain(says);
        error.ShouldBeAt(json, value, after: "\"halfLifeDays\"");
    }

    [Theory]
    [InlineData("halfLifeDays", "0", "$.rules[1].halfLifeDays", "rule 'pricing-page': 'halfLifeDays' must be greater than 0, not 0")]
    [InlineData("halfLifeDays", "-1", "$.rules[1].halfLifeDays", "rule 'pricing-page': 'halfLifeDays' must be greater than 0, not -1")]
    [InlineData("expiresAfterDays", "0", "$.rules[1].expiresAfterDays", "rule 'pricing-page': 'expiresAfterDays' must be greater than 0, not 0")]
    [InlineData("expiresAfterDays", "-0.5", "$.rules[1].expiresAfterDays", "rule 'pricing-page': 'expiresAfterDays' must be greater than 0, not -0.5")]
    public void Load_RuleDurationNotAboveZero_ReportsItsPath(string key, string value, string path, string message)
    {
        string json = AddRuleKey(key, value);

        var error = LoadSingleError(json);

        error.Path.Should().Be(path);
        error.Message.Should().Contain(message);
        error.ShouldBeAt(json, value, after: $"\"withinDays\": 1 }}, \"{key}\"");
    }

    [Theory]
    [InlineData("'limit': { 'count': 3, 'perDays': 30 }", "'limit': { 'count': 3, 'perDays': 0 }", "$.rules[1].limit.perDays", "'limit': 'perDays' must be greater than 0, not 0")]
    [InlineData("'limit': { 'count': 3, 'perDays': 30 }", "'limit': { 'count': 3, 'perDays': -7 }", "$.rules[1].limit.perDays", "'limit': 'perDays' must be greater than 0, not -7")]
    [InlineData("'after': { 'count': 2, 'withinDays': 1 }", "'after': { 'count': 2, 'withinDays': 0 }", "$.rules[1].after.withinDays", "'after': 'withinDays' must be greater than 0, not 0")]
    [InlineData("'after': { 'count': 2, 'withinDays': 1 }", "'after': { 'count': 2, 'withinDays': -1 }", "$.rules[1].after.withinDays", "'after': 'withinDays' must be greater than 0, not -1")]
    public void Load_WindowNotAboveZero_ReportsItsPath(string find, string replace, string path, string message)
    {
        string json = Minimal.With(Q(find), Q(replace));

        var error = LoadSingleError(json);

        error.Path.Should().Be(path);
        error.Message.Should().Contain("rule 'pricing-page': " + message);
    }

    [Fact]
    public void Load_OccurredWithinZeroDays_ReportsWithinDaysPath()
    {
        string json = StageEnter("""{ "occurred": "Sales Accepted", "withinDays": 0 }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.stages[1].enter.withinDays");
        error.Message.Should().Contain("stage 'mql': 'occurred': 'withinDays' must be greater than 0, not 0");
    }

    [Theory]
    [InlineData("limit", "0", "must be at least 1, not 0")]
    [InlineData("limit", "-2", "must be at least 1, not -2")]
    [InlineData("limit", "0.5", "must be at least 1, not 0.5")]
    [InlineData("limit", "1.5", "must be a whole number, not 1.5")]
    [InlineData("limit", "1e10", "must be a whole number, not 10000000000")]
    [InlineData("limit", "'3'", "must be a number, not a string")]
    [InlineData("after", "0", "must be at least 1, not 0")]
    [InlineData("after", "2.5", "must be a whole number, not 2.5")]
    [InlineData("after", "null", "must be a number, not null")]
    public void Load_BadCount_ReportsCountPath(string owner, string count, string message)
    {
        string find = owner == "limit" ? "\"limit\": { \"count\": 3" : "\"after\": { \"count\": 2";
        string json = Minimal.With(find, $"\"{owner}\": {{ \"count\": {Q(count)}");

        var error = LoadSingleError(json);

        error.Path.Should().Be($"$.rules[1].{owner}.count");
        error.Message.Should().Contain($"rule 'pricing-page': '{owner}': 'count' {message}");
        error.ShouldBeAt(json, Q(count), after: $"\"{owner}\": {{ \"count\": ");
    }

    [Fact]
    public void Load_CountWrittenAsWholeDecimal_IsAccepted()
    {
        var model = LoadValid(Minimal.With("\"limit\": { \"count\": 3", "\"limit\": { \"count\": 3.0"));

        model.Rules[1].Limit.Should().Be(new RuleLimit(3, 30, null));
    }

    [Fact]
    public void Load_RuleMinPointsAboveMaxPoints_ReportsMaxPointsPath()
    {
        string json = AddRuleKey("maxPoints", "5").With("\"maxPoints\": 5", "\"maxPoints\": 5, \"minPoints\": 10");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[1].maxPoints");
        error.Message.Should().Contain("rule 'pricing-page': 'maxPoints' (5) is below 'minPoints' (10)");
        error.ShouldBeAt(json, "5", after: "\"maxPoints\": ");
    }

    [Fact]
    public void Load_RuleMinPointsEqualToMaxPoints_IsValid()
    {
        var model = LoadValid(AddRuleKey("maxPoints", "5").With("\"maxPoints\": 5", "\"maxPoints\": 5, \"minPoints\": 5"));

        model.Rules[1].MaxPoints.Should().Be(5);
        model.Rules[1].MinPoints.Should().Be(5);
    }

    [Fact]
    public void Load_ScoreMinAboveMax_ReportsMaxPath()
    {
        string json = Minimal.With("\"min\": 0, \"max\": 100", "\"min\": 100, \"max\": 0");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.scores[0].max");
        error.Message.Should().Contain("score 'fit': 'max' (0) is below 'min' (100)");
        error.ShouldBeAt(json, "0 }", after: "\"max\": ");
    }

    // ---------------------------------------------------------------- operators and operands

    [Theory]
    [InlineData("contians", "contains")]
    [InlineData("containsany", "containsAny")]
    [InlineData("EQ", "eq")]
    [InlineData("betwen", "between")]
    public void Load_UnknownOperatorCloseToAKnownOne_ReportsOpPathAndSuggestion(string op, string suggestion)
    {
        string json = RuleWhen($$"""{ "field": "traits.title", "op": "{{op}}", "value": "VP" }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when.op");
        error.Message.Should().Contain($"{RuleOwner}unknown operator '{op}'").And.Contain($"did you mean '{suggestion}'");
        error.ShouldBeAt(json, $"\"{op}\"");
    }

    [Fact]
    public void Load_UnknownOperatorFarFromAnyKnownOne_GivesNoSuggestion()
    {
        string json = RuleWhen("""{ "field": "traits.title", "op": "greaterThanOrEqual", "value": "VP" }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when.op");
        error.Message.Should().Contain("unknown operator 'greaterThanOrEqual'").And.NotContain("did you mean");
    }

    [Theory]
    [InlineData("eq", "['VP']", "", "operator 'eq' needs a string, a number or a boolean as 'value', not an array")]
    [InlineData("eq", "null", "", "operator 'eq' needs a string, a number or a boolean as 'value', not null")]
    [InlineData("ne", "{ 'a': 1 }", "", "operator 'ne' needs a string, a number or a boolean as 'value', not an object")]
    [InlineData("in", "'VP'", "", "operator 'in' needs an array of strings, numbers or booleans as 'value', not a string")]
    [InlineData("notIn", "5", "", "operator 'notIn' needs an array of strings, numbers or booleans as 'value', not a number")]
    [InlineData("notIn", "['VP', {}]", "[1]", "operator 'notIn' needs an array of strings, numbers or booleans as 'value'; item 1 is an object")]
    [InlineData("in", "[null]", "[0]", "operator 'in' needs an array of strings, numbers or booleans as 'value'; item 0 is null")]
    [InlineData("in", "[1, 1e400]", "[1]", "operator 'in' needs an array of strings, numbers or booleans as 'value'; item 1 is not a finite number")]
    [InlineData("contains", "5", "", "operator 'contains' needs a string as 'value', not a number")]
    [InlineData("notContains", "true", "", "operator 'notContains' needs a string as 'value', not a boolean")]
    [InlineData("startsWith", "['VP']", "", "operator 'startsWith' needs a string as 'value', not an array")]
    [InlineData("endsWith", "null", "", "operator 'endsWith' needs a string as 'value', not null")]
    [InlineData("containsAny", "'VP'", "", "operator 'containsAny' needs an array of strings as 'value', not a string")]
    [InlineData("startsWithAny", "['VP', 1]", "[1]", "operator 'startsWithAny' needs an array of strings as 'value'; item 1 is")]
    [InlineData("endsWithAny", "[true]", "[0]", "operator 'endsWithAny' needs an array of strings as 'value'; item 0 is a boolean")]
    [InlineData("gt", "true", "", "operator 'gt' needs a number or a string as 'value', not a boolean")]
    [InlineData("gte", "[1]", "", "operator 'gte' needs a number or a string as 'value', not an array")]
    [InlineData("lt", "{}", "", "operator 'lt' needs a number or a string as 'value', not an object")]
    [InlineData("lte", "null", "", "operator 'lte' needs a number or a string as 'value', not null")]
    [InlineData("between", "[1]", "", "operator 'between' needs [low, high]: two numbers or two strings as 'value'")]
    [InlineData("between", "[1, 2, 3]", "", "operator 'between' needs [low, high]: two numbers or two strings as 'value'")]
    [InlineData("between", "[1, '5']", "", "operator 'between' needs [low, high]: two numbers or two strings as 'value'")]
    [InlineData("between", "[true, false]", "", "operator 'between' needs [low, high]: two numbers or two strings as 'value'")]
    [InlineData("between", "[]", "", "operator 'between' needs [low, high]: two numbers or two strings as 'value'")]
    [InlineData("between", "5", "", "operator 'between' needs [low, high]: two numbers or two strings as 'value'")]
    [InlineData("exists", "true", "", "operator 'exists' takes no 'value'")]
    [InlineData("notExists", "'VP'", "", "operator 'notExists' takes no 'value'")]
    [InlineData("matches", "5", "", "operator 'matches' needs a regular expression string as 'value', not a number")]
    [InlineData("matches", "['^VP']", "", "operator 'matches' needs a regular expression string as 'value', not an array")]
    public void Load_OperandOfWrongTypeForItsOperator_ReportsValuePath(string op, string value, string item, string message)
    {
        string json = RuleWhen($$"""{ "field": "traits.title", "op": "{{op}}", "value": {{Q(value)}} }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when.value" + item);
        error.Message.Should().Contain(RuleOwner + message);
        if (item.Length == 0)
        {
            error.ShouldBeAt(json, Q(value), after: "\"value\": ");
        }
        else
        {
            error.Line.Should().Be(9);
        }
    }

    [Theory]
    [InlineData("eq", "'VP'")]
    [InlineData("eq", "5")]
    [InlineData("ne", "false")]
    [InlineData("in", "['VP', 5, true]")]
    [InlineData("notIn", "[]")]
    [InlineData("contains", "''")]
    [InlineData("notContains", "'intern'")]
    [InlineData("containsAny", "['VP', 'Director']")]
    [InlineData("startsWith", "'Head'")]
    [InlineData("startsWithAny", "['Head', 'Chief']")]
    [InlineData("endsWith", "'Officer'")]
    [InlineData("endsWithAny", "['Officer', 'Lead']")]
    [InlineData("gt", "5")]
    [InlineData("gte", "'10'")]
    [InlineData("lt", "-1.5")]
    [InlineData("lte", "1e3")]
    [InlineData("between", "[200, 5000]")]
    [InlineData("between", "['a', 'm']")]
    [InlineData("exists", null)]
    [InlineData("notExists", null)]
    [InlineData("matches", "'^(vp|director)\\\\b'")]
    public void Load_OperandOfRightTypeForItsOperator_IsValid(string op, string? value)
    {
        string condition = value is null
            ? $$"""{ "field": "traits.title", "op": "{{op}}" }"""
            : $$"""{ "field": "traits.title", "op": "{{op}}", "value": {{Q(value)}} }""";

        var model = LoadValid(RuleWhen(condition));

        var leaf = model.Rules[0].When.Should().BeOfType<FieldCondition>().Subject;
        ModelJsonWriter.OperatorName(leaf.Operator).Should().Be(op);
        (leaf.Value is null).Should().Be(value is null);
    }

    [Fact]
    public void Load_RegexThatDoesNotCompile_ReportsValuePath()
    {
        string json = RuleWhen("""{ "field": "traits.phone", "op": "matches", "value": "^([0-9]+$" }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when.value");
        error.Message.Should().Contain(RuleOwner + "the regular expression does not compile");
        error.ShouldBeAt(json, "\"^([0-9]+$\"");
    }

    [Theory]
    [InlineData("(a)\\\\1")]
    [InlineData("(?=vp)v")]
    [InlineData("(?<!x)vp")]
    public void Load_RegexThatNeedsBacktracking_ReportsValuePath(string pattern)
    {
        string json = RuleWhen($$"""{ "field": "traits.title", "op": "matches", "value": "{{pattern}}" }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when.value");
        error.Message.Should().Contain(RuleOwner + "the regular expression uses a construct that cannot run without backtracking");
    }

    [Fact]
    public void Load_RegexLongerThanTheDefaultLimit_ReportsValuePath()
    {
        string json = RuleWhen($$"""{ "field": "traits.title", "op": "matches", "value": "{{new string('a', 513)}}" }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when.value");
        error.Message.Should().Contain(RuleOwner + "the regular expression is longer than 512 characters");
    }

    [Fact]
    public void Load_RegexAtTheDefaultLimit_IsValid()
    {
        LoadValid(RuleWhen($$"""{ "field": "traits.title", "op": "matches", "value": "{{new string('a', 512)}}" }"""));
    }

    [Fact]
    public void Load_RegexLongerThanMaxRegexLength_ReportsValuePath()
    {
        string json = RuleWhen("""{ "field": "traits.title", "op": "matches", "value": "^(vp|head)$" }""");

        var error = LoadSingleError(json, ModelLoadOptions.Default with { MaxRegexLength = 10 });

        error.Path.Should().Be("$.rules[0].when.value");
        error.Message.Should().Contain("the regular expression is longer than 10 characters");
        error.ShouldBeAt(json, "\"^(vp|head)$\"");
    }

    // ---------------------------------------------------------------- grade bands

    [Fact]
    public void Load_BandsOutOfOrder_ReportsMinPath()
    {
        string json = Minimal.With("{ \"grade\": \"B\", \"min\": 20 }", "{ \"grade\": \"B\", \"min\": 50 }");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.grade.bands[1].min");
        error.Message.Should().Contain("grade band 'B': bands are out of order; 'min' 50 must be below the previous band's 40");
        error.ShouldBeAt(json, "50 }");
    }

    [Fact]
    public void Load_BandsWithEqualMins_AreOutOfOrder()
    {
        string json = Minimal.With("{ \"grade\": \"B\", \"min\": 20 }", "{ \"grade\": \"B\", \"min\": 40 }");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.grade.bands[1].min");
        error.Message.Should().Contain("bands are out of order; 'min' 40 must be below the previous band's 40");
    }

    [Fact]
    public void Load_LastBandWithMin_ReportsMinPath()
    {
        string json = Minimal.With("{ \"grade\": \"C\" }", "{ \"grade\": \"C\", \"min\": 0 }");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.grade.bands[2].min");
        error.Message.Should().Contain("grade band 'C': the last band catches the rest and has no 'min'");
        error.ShouldBeAt(json, "0 }", after: "\"C\"");
    }

    [Fact]
    public void Load_NonLastBandWithoutMin_ReportsBandPath()
    {
        string json = Minimal.With("{ \"grade\": \"B\", \"min\": 20 }", "{ \"grade\": \"B\" }");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.grade.bands[1]");
        error.Message.Should().Contain("grade band 'B': only the last band may omit 'min'");
        error.ShouldBeAt(json, "{ \"grade\": \"B\" }");
    }

    [Fact]
    public void Load_GradeWithoutBands_ReportsBandsPath()
    {
        string json = Minimal.With("[ { \"grade\": \"A\", \"min\": 40 }, { \"grade\": \"B\", \"min\": 20 }, { \"grade\": \"C\" } ]", "[]");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.grade.bands");
        error.Message.Should().Contain("the grade: 'bands' must be a non-empty array");
    }

    [Fact]
    public void Load_GradeOnCompositeScore_IsValid()
    {
        var model = LoadValid(Minimal.With("\"grade\": { \"score\": \"fit\"", "\"grade\": { \"score\": \"total\""));

        model.Grade!.Score.Should().Be("total");
    }

    // ---------------------------------------------------------------- fields each part may use

    [Theory]
    [InlineData("properties.x")]
    [InlineData("context.campaign.source")]
    [InlineData("event")]
    [InlineData("scores.fit")]
    [InlineData("grade")]
    [InlineData("stage")]
    [InlineData("persona")]
    public void Load_PersonaUsingAFieldOtherThanTraitsOrAccount_ReportsFieldPath(string field)
    {
        string json = PersonaWhen($$"""{ "field": "{{field}}", "op": "exists" }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.personas[0].when.field");
        error.Message.Should().Contain($"persona 'buyer': personas use only traits.* and account.*, not '{field}'");
        error.ShouldBeAt(json, $"\"{field}\"", after: "\"personas\"");
    }

    [Fact]
    public void Load_PersonaUsingOccurred_ReportsConditionPath()
    {
        string json = PersonaWhen("""{ "occurred": "Demo Requested" }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.personas[0].when");
        error.Message.Should().Contain("persona 'buyer': personas use only traits.* and account.*, not 'occurred'");
        error.ShouldBeAt(json, "{ \"occurred\"");
    }

    [Fact]
    public void Load_PersonaUsingScoresDeepInsideItsCondition_ReportsNestedPath()
    {
        string json = PersonaWhen("""{ "any": [ { "field": "account.industry", "op": "eq", "value": "software" }, { "not": { "field": "scores.fit", "op": "gt", "value": 10 } } ] }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.personas[0].when.any[1].not.field");
        error.Message.Should().Contain("not 'scores.fit'");
    }

    [Fact]
    public void Load_PersonaUsingTraitsAndAccount_IsValid()
    {
        var model = LoadValid(PersonaWhen("""{ "all": [ { "field": "traits.title", "op": "exists" }, { "field": "account.plan.tier", "op": "eq", "value": "enterprise" } ] }"""));

        model.Personas[0].When.Should().BeOfType<AllCondition>().Which.Conditions.Should().HaveCount(2);
    }

    [Theory]
    [InlineData("scores.fit")]
    [InlineData("scores.total")]
    [InlineData("grade")]
    [InlineData("stage")]
    public void Load_TraitRuleUsingScoresGradeOrStage_ReportsFieldPath(string field)
    {
        string json = RuleWhen($$"""{ "field": "{{field}}", "op": "eq", "value": "A" }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when.field");
        error.Message.Should().Contain($"{RuleOwner}rules cannot use '{field}'");
        error.ShouldBeAt(json, $"\"{field}\"");
    }

    [Fact]
    public void Load_EventRuleUsingScoresDeepInsideItsCondition_ReportsNestedPath()
    {
        string json = AddRuleKey("when", """{ "all": [ { "field": "properties.path", "op": "startsWith", "value": "/pricing" }, { "not": { "field": "scores.fit", "op": "lt", "value": 10 } } ] }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[1].when.all[1].not.field");
        error.Message.Should().Contain("rule 'pricing-page': rules cannot use 'scores.fit'");
        error.ShouldBeAt(json, "\"scores.fit\"");
    }

    [Fact]
    public void Load_RuleUsingPersona_IsValid()
    {
        var model = LoadValid(RuleWhen("""{ "field": "persona", "op": "eq", "value": "buyer" }"""));

        model.Rules[0].When.Should().BeOfType<FieldCondition>().Which.Field.Should().Be("persona");
    }

    [Fact]
    public void Load_StageUsingEveryField_IsValid()
    {
        var model = LoadValid(StageEnter("""
            { "any": [ { "field": "grade", "op": "eq", "value": "A" }, { "field": "persona", "op": "eq", "value": "buyer" },
              { "field": "stage", "op": "eq", "value": "lead" }, { "field": "scores.fit", "op": "gt", "value": 10 },
              { "field": "traits.title", "op": "exists" }, { "field": "account.industry", "op": "exists" }, { "occurred": "Demo Requested", "withinDays": 7 } ] }
            """));

        model.Stages[1].Enter.Should().BeOfType<AnyCondition>().Which.Conditions.Should().HaveCount(7);
    }

    [Theory]
    [InlineData("trait.title", null)]
    [InlineData("Traits.title", null)]
    [InlineData("title", null)]
    [InlineData("evnt", "did you mean 'event'")]
    [InlineData("persnoa", "did you mean 'persona'")]
    public void Load_UnknownFieldRoot_ReportsFieldPath(string field, string? hint)
    {
        string json = RuleWhen($$"""{ "field": "{{field}}", "op": "exists" }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when.field");
        error.Message.Should().Contain($"{RuleOwner}unknown field '{field}'")
            .And.Contain("traits.*, account.*, properties.*, context.*, scores.*, event, grade, persona, stage");
        if (hint is null)
        {
            error.Message.Should().NotContain("did you mean");
        }
        else
        {
            error.Message.Should().Contain(hint);
        }

        error.ShouldBeAt(json, $"\"{field}\"");
    }

    [Theory]
    [InlineData("traits", "traits")]
    [InlineData("traits.", "traits")]
    [InlineData("traits..title", "traits")]
    [InlineData("account.plan.", "account")]
    [InlineData("properties..path", "properties")]
    [InlineData("scores.", "scores")]
    public void Load_FieldWithEmptySegment_ReportsFieldPath(string field, string root)
    {
        string json = StageEnter($$"""{ "field": "{{field}}", "op": "exists" }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.stages[1].enter.field");
        error.Message.Should().Contain($"stage 'mql': field '{field}' needs a name after '{root}.' and no empty segments");
    }

    [Theory]
    [InlineData("traits.email")]
    [InlineData("properties")]
    [InlineData("event")]
    [InlineData("account.id")]
    public void Load_LimitPerOutsidePropertiesAndContext_ReportsPerPath(string per)
    {
        string json = Minimal.With("\"count\": 3, \"perDays\": 30", $"\"count\": 3, \"perDays\": 30, \"per\": \"{per}\"");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[1].limit.per");
        error.Message.Should().Contain($"rule 'pricing-page': 'limit.per' must be a properties.* or context.* path, not '{per}'");
        error.ShouldBeAt(json, $"\"{per}\"", after: "\"per\": ");
    }

    [Theory]
    [InlineData("properties..id")]
    [InlineData("context.campaign.")]
    public void Load_LimitPerWithEmptySegment_ReportsPerPath(string per)
    {
        string json = Minimal.With("\"count\": 3, \"perDays\": 30", $"\"count\": 3, \"perDays\": 30, \"per\": \"{per}\"");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[1].limit.per");
        error.Message.Should().Contain($"'limit.per' has an empty segment: '{per}'");
    }

    [Theory]
    [InlineData("properties.emailId")]
    [InlineData("context.campaign.id")]
    public void Load_LimitPerOnPropertiesOrContext_IsValid(string per)
    {
        var model = LoadValid(Minimal.With("\"count\": 3, \"perDays\": 30", $"\"count\": 3, \"perDays\": 30, \"per\": \"{per}\""));

        model.Rules[1].Limit.Should().Be(new RuleLimit(3, 30, per));
    }

    [Theory]
    [InlineData("limit", "{ 'count': 1 }")]
    [InlineData("after", "{ 'count': 2, 'withinDays': 1 }")]
    [InlineData("halfLifeDays", "7")]
    [InlineData("expiresAfterDays", "90")]
    [InlineData("maxPoints", "30")]
    [InlineData("minPoints", "-10")]
    public void Load_EventOnlyKeyOnTraitRule_ReportsKeyPath(string key, string value)
    {
        string json = Minimal.With("\"points\": 20,", $"\"points\": 20, \"{key}\": {Q(value)},");

        var error = LoadSingleError(json);

        error.Path.Should().Be($"$.rules[0].{key}");
        error.Message.Should().Contain($"{RuleOwner}'{key}' applies to event rules only; add 'on' or remove '{key}'");
        error.ShouldBeAt(json, $"\"{key}\"", after: "\"senior-title\"");
    }

    [Theory]
    [InlineData("''", "", "'on' must not be empty")]
    [InlineData("[]", "", "'on' must name at least one event")]
    [InlineData("['Demo Requested', 5]", "[1]", "'on' must list non-empty strings, not a number")]
    [InlineData("['Demo Requested', ' ']", "[1]", "'on' must list non-empty strings, not a string")]
    [InlineData("5", "", "'on' must be an event name or an array of names, not a number")]
    public void Load_BadEventNames_ReportsOnPath(string on, string item, string message)
    {
        string json = Minimal.With("\"on\": \"$page\"", $"\"on\": {Q(on)}");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[1].on" + item);
        error.Message.Should().Contain("rule 'pricing-page': " + message);
    }

    [Fact]
    public void Load_OccurredWithEmptyName_ReportsOccurredPath()
    {
        string json = StageEnter("""{ "occurred": "" }""");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.stages[1].enter.occurred");
        error.Message.Should().Contain("stage 'mql': 'occurred' must not be empty");
    }

    [Theory]
    [InlineData("'traits.title contains VP'", "$.rules[0].when", "a condition must be an object, not a string")]
    [InlineData("{ 'all': { 'field': 'traits.title', 'op': 'exists' } }", "$.rules[0].when.all", "'all' must be an array of conditions, not an object")]
    [InlineData("{ 'any': [ { 'field': 'traits.title', 'op': 'exists' }, 5 ] }", "$.rules[0].when.any[1]", "a condition must be an object, not a number")]
    [InlineData("{ 'not': [ { 'field': 'traits.title', 'op': 'exists' } ] }", "$.rules[0].when.not", "a condition must be an object, not an array")]
    public void Load_ConditionOfWrongShape_ReportsPath(string condition, string path, string message)
    {
        string json = RuleWhen(Q(condition));

        var error = LoadSingleError(json);

        error.Path.Should().Be(path);
        error.Message.Should().Contain(RuleOwner + message);
    }

    // ---------------------------------------------------------------- stages, and fields the model does not define

    [Fact]
    public void Load_FirstStageWithEnter_ReportsEnterPath()
    {
        string json = Minimal.With("{ \"name\": \"lead\" }", "{ \"name\": \"lead\", \"enter\": { \"occurred\": \"Signed Up\" } }");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.stages[0].enter");
        error.Message.Should().Contain("stage 'lead': the first stage is where every lead starts and has no 'enter'");
        error.ShouldBeAt(json, "\"enter\"");
    }

    [Fact]
    public void Load_FirstStageWithExit_ReportsExitPath()
    {
        string json = Minimal.With("{ \"name\": \"lead\" }", "{ \"name\": \"lead\", \"exit\": { \"occurred\": \"Unsubscribed\" } }");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.stages[0].exit");
        error.Message.Should().Contain("stage 'lead': the first stage has no lower stage to exit to");
        error.ShouldBeAt(json, "\"exit\"");
    }

    [Fact]
    public void Load_LaterStageWithoutEnter_ReportsStagePath()
    {
        string json = Minimal.With(", \"enter\": " + StageCondition, "");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.stages[1]");
        error.Message.Should().Contain("stage 'mql': every stage but the first needs 'enter'");
        error.ShouldBeAt(json, "{ \"name\": \"mql\" }");
    }

    [Fact]
    public void Load_GradeFieldWhenTheModelDefinesNoGrade_ReportsFieldPath()
    {
        string json = StageEnter("""{ "field": "grade", "op": "eq", "value": "A" }""").WithoutLine("\"grade\":");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.stages[1].enter.field");
        error.Message.Should().Contain("stage 'mql': the model defines no grade");
        error.ShouldBeAt(json, "\"grade\"");
    }

    [Fact]
    public void Load_PersonaFieldInRuleWhenTheModelDefinesNoPersonas_ReportsFieldPath()
    {
        string json = RuleWhen("""{ "field": "persona", "op": "eq", "value": "buyer" }""").WithoutLine("\"personas\":");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when.field");
        error.Message.Should().Contain(RuleOwner + "the model defines no personas");
        error.ShouldBeAt(json, "\"persona\"");
    }

    [Fact]
    public void Load_PersonaFieldInStageWhenTheModelDefinesNoPersonas_ReportsFieldPath()
    {
        string json = StageEnter("""{ "field": "persona", "op": "eq", "value": "buyer" }""").WithoutLine("\"personas\":");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.stages[1].enter.field");
        error.Message.Should().Contain("stage 'mql': the model defines no personas");
    }

    [Fact]
    public void Load_StageFieldInRuleWhenTheModelDefinesNoStages_ReportsThatRulesCannotUseIt()
    {
        // Only stage conditions may read 'stage', and they exist only when the model has stages,
        // so a model without stages can only misuse 'stage' in a rule.
        string json = RuleWhen("""{ "field": "stage", "op": "eq", "value": "mql" }""").WithoutLine("\"stages\":");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.rules[0].when.field");
        error.Message.Should().Contain(RuleOwner + "rules cannot use 'stage'");
    }

    [Fact]
    public void Load_ModelWithoutGradePersonasOrStages_IsValid()
    {
        var model = LoadValid(Minimal.WithoutLine("\"grade\":").WithoutLine("\"personas\":").WithoutLine("\"stages\":"));

        model.Grade.Should().BeNull();
        model.Personas.Should().BeEmpty();
        model.Stages.Should().BeEmpty();
    }

    // ---------------------------------------------------------------- documents that are not JSON, and size limits

    [Fact]
    public void Load_TruncatedDocument_ReportsOneErrorWhereTheDocumentStops()
    {
        string json = Minimal[..Minimal.IndexOf("\"rules\"", StringComparison.Ordinal)] + "\"ru";

        var error = LoadSingleError(json);

        error.Path.Should().Be("$");
        error.Message.Should().Contain("the document is not valid JSON");
        string[] lines = json.Split('\n');
        error.Line.Should().Be(lines.Length);
        error.Column.Should().Be(lines[^1].Length + 1);
    }

    [Fact]
    public void Load_MissingColon_ReportsOneErrorAtTheOffendingToken()
    {
        string json = Minimal.With("\"name\": \"minimal\"", "\"name\" \"minimal\"");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$");
        error.Message.Should().Contain("the document is not valid JSON");
        error.ShouldBeAt(json, "\"minimal\"");
    }

    [Theory]
    [InlineData("\"version\": \"1.0.0\"", "\"version\": \"1.0.0\",")]
    [InlineData("\"version\": \"1.0.0\"", "\"version\": \"1.0.0\" // release")]
    [InlineData("\"version\": \"1.0.0\"", "'version': '1.0.0'")]
    [InlineData("\"min\": 0,", "\"min\": 00,")]
    [InlineData("\"points\": 20", "\"points\": +20")]
    [InlineData("\"points\": 20", "\"points\": NaN")]
    public void Load_DocumentThatIsNotStrictJson_ReportsOneErrorWithLineAndColumn(string find, string replace)
    {
        string json = Minimal.With(find, replace);

        var error = LoadSingleError(json);

        error.Path.Should().Be("$");
        error.Message.Should().Contain("the document is not valid JSON");
        error.Line.Should().BeGreaterThanOrEqualTo(1);
        error.Column.Should().BeGreaterThanOrEqualTo(1);
    }

    [Fact]
    public void Load_ContentAfterTheDocument_ReportsWhereItStarts()
    {
        string json = Minimal + "\n{}";

        var error = LoadSingleError(json);

        error.Path.Should().Be("$");
        error.Message.Should().Contain("not valid JSON");
        error.Line.Should().Be(json.Split('\n').Length);
        error.Column.Should().Be(1);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Load_EmptyDocument_ReportsOneError(string json)
    {
        var error = LoadSingleError(json);

        error.Path.Should().Be("$");
        error.Message.Should().Contain("not valid JSON");
        error.Line.Should().Be(1);
    }

    [Fact]
    public void Load_DocumentWithByteOrderMark_IsValid()
    {
        byte[] utf8 = [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Minimal)];

        var result = ScoringModelLoader.Load(utf8);

        result.IsValid.Should().BeTrue();
    }

    [Fact]
    public void Load_DocumentLargerThanMaxDocumentBytes_ReportsOneErrorAtTheStart()
    {
        var error = LoadSingleError(Minimal, ModelLoadOptions.Default with { MaxDocumentBytes = 200 });

        error.Path.Should().Be("$");
        error.Message.Should().Contain("the document is larger than 200 bytes");
        (error.Line, error.Column).Should().Be((1, 1));
    }

    [Fact]
    public void Load_DocumentOfExactlyMaxDocumentBytes_IsValid()
    {
        LoadValid(Minimal, ModelLoadOptions.Default with { MaxDocumentBytes = Encoding.UTF8.GetByteCount(Minimal) });
    }

    [Fact]
    public void Load_DocumentOverTheDefaultSizeLimit_IsRefused()
    {
        string json = Minimal.With("\"version\": \"1.0.0\"", "\"version\": \"1.0.0\", \"description\": \"" + new string(' ', 4 * 1024 * 1024) + "\"");

        var error = LoadSingleError(json);

        error.Message.Should().Contain("the document is larger than 4194304 bytes");
    }

    [Fact]
    public void LoadFileAndStream_DocumentLargerThanMaxDocumentBytes_ReportOneError()
    {
        var options = ModelLoadOptions.Default with { MaxDocumentBytes = 200 };
        string path = Path.Combine(Path.GetTempPath(), $"leadscoring-model-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, Minimal);
        try
        {
            var fromFile = ScoringModelLoader.LoadFile(path, options);
            using var stream = new MemoryStream(Encoding.UTF8.GetBytes(Minimal));
            var fromStream = ScoringModelLoader.Load(stream, options);

            foreach (var result in new[] { fromFile, fromStream })
            {
                result.IsValid.Should().BeFalse();
                result.Errors.Should().ContainSingle().Which.Message.Should().Contain("larger than 200 bytes");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void Load_NestingDeeperThanMaxDepth_ReportsOneError()
    {
        var error = LoadSingleError(Minimal, ModelLoadOptions.Default with { MaxDepth = 3 });

        error.Path.Should().Be("$");
        error.Message.Should().Contain("depth of 3");
        error.Line.Should().Be(6, "the first object nested four deep is the 'sum' of 'total'");
    }

    [Fact]
    public void Load_ConditionNestedDeeperThanTheDefaultMaxDepth_ReportsOneError()
    {
        string condition = string.Concat(Enumerable.Repeat("{ \"not\": ", 70)) + "{ \"field\": \"traits.title\", \"op\": \"exists\" }" + new string('}', 70);

        var error = LoadSingleError(RuleWhen(condition));

        error.Path.Should().Be("$");
        error.Message.Should().Contain("depth of 64");
        error.Line.Should().Be(9);
    }

    [Fact]
    public void Load_ConditionNestedWithinTheDefaultMaxDepth_IsValid()
    {
        string condition = string.Concat(Enumerable.Repeat("{ \"not\": ", 50)) + "{ \"field\": \"traits.title\", \"op\": \"exists\" }" + new string('}', 50);

        LoadValid(RuleWhen(condition));
    }

    [Fact]
    public void Load_StringLongerThanTheDefaultMaxStringLength_ReportsOneErrorAtTheString()
    {
        string json = Minimal.With("\"version\": \"1.0.0\"", "\"version\": \"1.0.0\",\n  \"description\": \"" + new string('x', 4097) + "\"");

        var error = LoadSingleError(json);

        error.Path.Should().Be("$");
        error.Message.Should().Contain("a string is longer than 4096 characters");
        error.ShouldBeAt(json, "\"xxx");
    }

    [Fact]
    public void Load_StringLongerThanMaxStringLength_ReportsOneErrorAtTheString()
    {
        var error = LoadSingleError(Minimal, ModelLoadOptions.Default with { MaxStringLength = 5 });

        error.Path.Should().Be("$");
        error.Message.Should().Contain("a string is longer than 5 characters");
        error.ShouldBeAt(Minimal, "\"minimal\"");
    }

    [Fact]
    public void Load_MoreRulesThanMaxRules_ReportsRulesPath()
    {
        var error = LoadSingleError(Minimal, ModelLoadOptions.Default with { MaxRules = 1 });

        error.Path.Should().Be("$.rules");
        error.Message.Should().Contain("the model has 2 rules; at most 1 are allowed");
        error.ShouldBeAt(Minimal, "[", after: "\"rules\"");
    }

    [Fact]
    public void Load_ExactlyMaxRules_IsValid()
    {
        LoadValid(Minimal, ModelLoadOptions.Default with { MaxRules = 2 });
    }

    [Fact]
    public void Load_ArrayWithMoreItemsThanMaxArrayItems_ReportsOneErrorAtTheFirstExtraItem()
    {
        const string json = """{ "name": "m", "version": "1", "scores": [ { "name": "a" }, { "name": "b" }, { "name": "c" }, { "name": "d" } ] }""";

        var error = LoadSingleError(json, ModelLoadOptions.Default with { MaxArrayItems = 3 });

        error.Path.Should().Be("$");
        error.Message.Should().Contain("an array has more than 3 items");
        error.ShouldBeAt(json, "{ \"name\": \"d\" }");
    }

    [Fact]
    public void Load_ObjectWithMoreKeysThanMaxArrayItems_ReportsOneErrorAtTheFirstExtraKey()
    {
        var error = LoadSingleError(Minimal, ModelLoadOptions.Default with { MaxArrayItems = 3 });

        error.Path.Should().Be("$");
        error.Message.Should().Contain("an object has more than 3 keys");
        error.ShouldBeAt(Minimal, "\"when\"");
    }

    // ---------------------------------------------------------------- stageCheckHours (spec 3.4, revision 2)

    private static string WithStageCheckHours(string value) =>
        Minimal.With("\"version\": \"1.0.0\"", $"\"version\": \"1.0.0\", \"stageCheckHours\": {value}");

    [Theory]
    [InlineData("0", 0)]
    [InlineData("1", 1)]
    [InlineData("6", 6)]
    [InlineData("24.0", 24)]
    [InlineData("8760", 8760)]
    public void Load_StageCheckHoursFrom0To8760_IsValid(string value, int hours)
    {
        var model = LoadValid(WithStageCheckHours(value));

        model.StageCheckHours.Should().Be(hours);
        model.EffectiveStageCheckHours.Should().Be(hours);
    }

    [Fact]
    public void Load_WithoutStageCheckHours_HasTheDefaultClockOf24Hours()
    {
        var model = LoadValid(Minimal);

        model.StageCheckHours.Should().BeNull();
        model.EffectiveStageCheckHours.Should().Be(ScoringModel.DefaultStageCheckHours).And.Be(24);
    }

    [Theory]
    [InlineData("-1", "must be a whole number of hours from 0 to 8760, not -1")]
    [InlineData("8761", "must be a whole number of hours from 0 to 8760, not 8761")]
    [InlineData("1.5", "must be a whole number of hours from 0 to 8760, not 1.5")]
    [InlineData("1e10", "must be a whole number of hours from 0 to 8760, not 10000000000")]
    [InlineData("'24'", "must be a number, not a string")]
    [InlineData("true", "must be a number, not")]
    [InlineData("null", "must be a number, not null")]
    public void Load_BadStageCheckHours_ReportsItsPathAndReason(string value, string message)
    {
        string json = WithStageCheckHours(Q(value));

        var error = LoadSingleError(json);

        error.Path.Should().Be("$.stageCheckHours");
        error.Message.Should().Contain("the model: 'stageCheckHours' " + message);
        error.ShouldBeAt(json, Q(value), after: "\"stageCheckHours\": ");
    }

    [Fact]
    public void Load_BadStageCheckHours_IsListedWithTheOtherErrors()
    {
        string json = WithStageCheckHours("-3").Replace("\"op\": \"gte\"", "\"op\": \"gteq\"", StringComparison.Ordinal);

        var errors = ScoringModelLoader.Load(json).Errors;

        errors.Select(e => e.Path).Should().Contain("$.stageCheckHours");
        errors.Should().HaveCountGreaterThan(1);
    }

    [Fact]
    public void StageCheckHours_RoundTripsThroughToJsonAndTheBuilder()
    {
        var model = LoadValid(WithStageCheckHours("6"));
        LoadValid(model.ToJson()).StageCheckHours.Should().Be(6);
        LoadValid(Minimal).ToJson().Should().NotContain("stageCheckHours");

        var built = new ScoringModelBuilder("b", "1").AddScore("e").AddStage("lead").WithStageCheckHours(12).Build();
        built.StageCheckHours.Should().Be(12);
        built.ToJson().Should().Contain("\"stageCheckHours\":12");

        var refused = () => new ScoringModelBuilder("b", "1").AddScore("e").WithStageCheckHours(9000).Build();
        refused.Should().Throw<ModelValidationException>().WithMessage("*$.stageCheckHours*from 0 to 8760*");
    }

    private static string AddRuleKey(string key, string value) =>
        Minimal.With("\"after\": { \"count\": 2, \"withinDays\": 1 }", $"\"after\": {{ \"count\": 2, \"withinDays\": 1 }}, \"{key}\": {value}");
}
