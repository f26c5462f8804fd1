using LeadScoring.Model;

namespace LeadScoring.Tests.Model;

/// <summary>Spec section 4: a broken model is refused as a whole, with every error listed in document order.</summary>
public sealed class ModelValidationMultipleErrorsTests
{
    /// <summary>Eleven mistakes, one per line marked, in every part of the model; some are found while reading, some by cross-checking.</summary>
    private const string Broken = """
        {
          "name": "broken",
          "version": "1",
          "owner": "marketing",
          "scores": [
            { "name": "fit", "min": 10, "max": 0 },
            { "name": "engagement", "halfLifeDays": 0 },
            { "name": "total", "sum": { "fit": 1, "intent": 1 } }
          ],
          "rules": [
            { "id": "senior-title", "score": "fitt", "points": 20,
              "when": { "field": "traits.title", "op": "containz", "value": "VP" } },
            { "id": "pricing-page", "score": "engagement", "points": 10, "on": "$page",
              "limit": { "count": 0, "perDays": 30 } },
            { "id": "senior-title", "score": "fit", "points": 5 }
          ],
          "grade": { "score": "fit", "bands": [ { "grade": "A", "min": 10 }, { "grade": "B", "min": 20 }, { "grade": "C" } ] },
          "personas": [ { "name": "buyer", "when": { "field": "scores.fit", "op": "gt", "value": 10 } } ],
          "stages": [ { "name": "lead" }, { "name": "mql" } ]
        }
        """;

    private static readonly (string Path, string Message, int Line)[] Expected =
    [
        ("$.owner", "the model: unknown key 'owner'", 4),
        ("$.scores[0].max", "score 'fit': 'max' (0) is below 'min' (10)", 6),
        ("$.scores[1].halfLifeDays", "score 'engagement': 'halfLifeDays' must be greater than 0", 7),
        ("$.scores[2].sum.intent", "score 'total': 'sum' names score 'intent', which does not exist", 8),
        ("$.rules[0].score", "rule 'senior-title': score 'fitt' does not exist; did you mean 'fit'?", 11),
        ("$.rules[0].when.op", "rule 'senior-title': unknown operator 'containz'; did you mean 'contains'?", 12),
        ("$.rules[1].limit.count", "rule 'pricing-page': 'limit': 'count' must be at least 1, not 0", 14),
        ("$.rules[2].id", "rule id 'senior-title' is used twice", 15),
        ("$.grade.bands[1].min", "grade band 'B': bands are out of order", 17),
        ("$.personas[0].when.field", "persona 'buyer': personas use only traits.* and account.*, not 'scores.fit'", 18),
        ("$.stages[1]", "stage 'mql': every stage but the first needs 'enter'", 19),
    ];

    [Fact]
    public void Load_ModelWithElevenMistakes_ReportsEveryOneInDocumentOrder()
    {
        var result = ScoringModelLoader.Load(Broken);

        result.Errors.Select(e => e.Path).Should().Equal(Expected.Select(e => e.Path));
        for (int i = 0; i < Expected.Length; i++)
        {
            result.Errors[i].Message.Should().Contain(Expected[i].Message);
            result.Errors[i].Line.Should().Be(Expected[i].Line, "error {0} ({1}) is on that line", i, Expected[i].Path);
        }
    }

    [Fact]
    public void Load_ModelWithElevenMistakes_OrdersErrorsByLineThenColumn()
    {
        var result = ScoringModelLoader.Load(Broken);

        var positions = result.Errors.Select(e => (e.Line!.Value, e.Column!.Value)).ToList();
        positions.Should().BeInAscendingOrder(Comparer<(int, int)>.Default);
        positions.Should().OnlyContain(p => p.Item1 >= 1 && p.Item2 >= 1);
    }

    [Fact]
    public void Load_ModelWithElevenMistakes_ReturnsNoModel()
    {
        var result = ScoringModelLoader.Load(Broken);

        result.IsValid.Should().BeFalse();
        result.Model.Should().BeNull("nothing is half-loaded");
    }

    [Fact]
    public void GetModelOrThrow_ModelWithElevenMistakes_ThrowsListingEveryError()
    {
        var result = ScoringModelLoader.Load(Broken);

        var thrown = result.Invoking(r => r.GetModelOrThrow("broken.json")).Should().Throw<ModelValidationException>().Which;

        thrown.Errors.Should().Equal(result.Errors);
        thrown.Message.Should().Contain("refused with 11 error(s)");
        foreach (var error in result.Errors)
        {
            thrown.Message.Should().Contain($"broken.json({error.Line},{error.Column}): {error.Path}: {error.Message}");
        }
    }

    [Fact]
    public void Load_SeveralMistakesInOneRule_ReportsEachAtItsOwnPath()
    {
        const string json = """
            {
              "name": "m",
              "version": "1",
              "scores": [ { "name": "engagement" } ],
              "rules": [
                { "id": "pricing-page", "score": "engagement", "points": 10, "on": "$page", "weight": 2,
                  "when": { "all": [ { "field": "propertes.path", "op": "startsWith", "value": "/pricing" },
                                     { "field": "properties.plan", "op": "in", "value": "pro" } ] },
                  "limit": { "count": 1.5, "per": "traits.email" }, "maxPoints": 5, "minPoints": 6 }
              ]
            }
            """;

        var result = ScoringModelLoader.Load(json);

        result.IsValid.Should().BeFalse();
        result.Errors.Select(e => e.Path).Should().Equal(
            "$.rules[0].weight",
            "$.rules[0].when.all[0].field",
            "$.rules[0].when.all[1].value",
            "$.rules[0].limit.count",
            "$.rules[0].limit.per",
            "$.rules[0].maxPoints");
        result.Errors.Select(e => e.Line).Should().Equal(6, 7, 8, 9, 9, 9);
    }

    [Fact]
    public void Load_MistakeOnlyInTheLastStage_ReturnsNoModel()
    {
        string json = ModelDocuments.Minimal.With("{ \"name\": \"mql\", \"enter\"", "{ \"name\": \"mql\", \"exit\": { \"occurred\": \"Unsubscribed\" }, \"enter\"")
            .With("\"op\": \"gte\", \"value\": 50", "\"op\": \"gte\", \"value\": true");

        var result = ScoringModelLoader.Load(json);

        result.IsValid.Should().BeFalse();
        result.Model.Should().BeNull();
        result.Errors.Should().ContainSingle().Which.Path.Should().Be("$.stages[1].enter.value");
    }

    [Fact]
    public void Load_MistakesInBothPasses_AreInterleavedByPosition()
    {
        // A cross-reference error (unknown score, found after reading) early in the document and a structural
        // error (bad operand, found while reading) later must come out in document order, not pass by pass.
        string json = ModelDocuments.Minimal
            .With("\"score\": \"fit\", \"points\": 20", "\"score\": \"fitt\", \"points\": 20")
            .With("\"op\": \"exists\" } } ]", "\"op\": \"exists\", \"value\": 1 } } ]")
            .With("\"engagement\": 0.5", "\"engagment\": 0.5");

        var result = ScoringModelLoader.Load(json);

        result.Errors.Select(e => e.Path).Should().Equal("$.scores[2].sum.engagment", "$.rules[0].score", "$.personas[0].when.value");
    }
}
