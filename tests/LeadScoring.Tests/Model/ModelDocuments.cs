using LeadScoring.Model;

namespace LeadScoring.Tests.Model;

/// <summary>Model documents shared by the model tests: the spec's example, the sample model and a small valid model to break.</summary>
internal static class ModelDocuments
{
    /// <summary>The example document of section 3 of the contract (scoring-model.md), copied verbatim.</summary>
    public const string SpecExample = LeadScoring.Tests.Shared.SpecDocuments.ExampleModel;

    /// <summary>
    /// A small valid model with one of everything; the validation tests break one piece of it at a time.
    /// Every section sits on its own lines, and <c>version</c> comes last so that any other line can be removed.
    /// </summary>
    public const string Minimal = """
        {
          "name": "minimal",
          "scores": [
            { "name": "fit", "min": 0, "max": 100 },
            { "name": "engagement", "halfLifeDays": 30 },
            { "name": "total", "sum": { "fit": 1, "engagement": 0.5 } }
          ],
          "rules": [
            { "id": "senior-title", "score": "fit", "points": 20, "when": { "field": "traits.title", "op": "contains", "value": "VP" } },
            { "id": "pricing-page", "score": "engagement", "points": 10, "on": "$page", "limit": { "count": 3, "perDays": 30 }, "after": { "count": 2, "withinDays": 1 } }
          ],
          "grade": { "score": "fit", "bands": [ { "grade": "A", "min": 40 }, { "grade": "B", "min": 20 }, { "grade": "C" } ] },
          "personas": [ { "name": "buyer", "when": { "field": "traits.title", "op": "exists" } } ],
          "stages": [ { "name": "lead" }, { "name": "mql", "enter": { "field": "scores.total", "op": "gte", "value": 50 } } ],
          "version": "1.0.0"
        }
        """;

    /// <summary>The condition of the trait rule <c>senior-title</c> (<c>$.rules[0].when</c>) in <see cref="Minimal"/>.</summary>
    public const string TraitRuleCondition = """{ "field": "traits.title", "op": "contains", "value": "VP" }""";

    /// <summary>The condition of the persona <c>buyer</c> (<c>$.personas[0].when</c>) in <see cref="Minimal"/>.</summary>
    public const string PersonaCondition = """{ "field": "traits.title", "op": "exists" }""";

    /// <summary>The enter condition of the stage <c>mql</c> (<c>$.stages[1].enter</c>) in <see cref="Minimal"/>.</summary>
    public const string StageCondition = """{ "field": "scores.total", "op": "gte", "value": 50 }""";

    /// <summary>The sample model shipped in samples/data, copied next to the tests.</summary>
    public static string SampleModelPath => Path.Combine(AppContext.BaseDirectory, "data", "model.json");

    /// <summary>Replaces the one occurrence of <paramref name="find"/>; fails the test when it occurs zero or several times.</summary>
    public static string With(this string json, string find, string replace)
    {
        int first = json.IndexOf(find, StringComparison.Ordinal);
        if (first < 0 || json.IndexOf(find, first + 1, StringComparison.Ordinal) >= 0)
        {
            throw new ArgumentException($"'{find}' must occur exactly once in the document", nameof(find));
        }

        return string.Concat(json.AsSpan(0, first), replace, json.AsSpan(first + find.Length));
    }

    /// <summary>Turns single quotes into double quotes, so JSON fragments in attributes stay readable.</summary>
    public static string Q(string json) => json.Replace('\'', '"');

    /// <summary>Removes the one line whose text (without indentation) starts with <paramref name="prefix"/>.</summary>
    public static string WithoutLine(this string json, string prefix)
    {
        var lines = json.Split('\n').ToList();
        var matches = lines.Where(l => l.TrimStart().StartsWith(prefix, StringComparison.Ordinal)).ToList();
        if (matches.Count != 1)
        {
            throw new ArgumentException($"exactly one line must start with '{prefix}'", nameof(prefix));
        }

        lines.Remove(matches[0]);
        return string.Join('\n', lines);
    }

    /// <summary>The 1-based line and column of the <paramref name="occurrence"/>-th <paramref name="marker"/> in <paramref name="json"/>.</summary>
    public static (int Line, int Column) PositionOf(string json, string marker, int occurrence = 1) =>
        PositionOf(json, marker, after: null, occurrence);

    /// <summary>
    /// The 1-based line and column of the <paramref name="occurrence"/>-th <paramref name="marker"/> in <paramref name="json"/>
    /// that comes after the first <paramref name="after"/> (anywhere when <see langword="null"/>).
    /// </summary>
    public static (int Line, int Column) PositionOf(string json, string marker, string? after, int occurrence = 1)
    {
        int index = after is null ? -1 : json.IndexOf(after, StringComparison.Ordinal);
        if (after is not null && index < 0)
        {
            throw new ArgumentException($"'{after}' does not occur in the document", nameof(after));
        }

        for (int i = 0; i < occurrence; i++)
        {
            index = json.IndexOf(marker, index + 1, StringComparison.Ordinal);
            if (index < 0)
            {
                throw new ArgumentException($"'{marker}' does not occur {occurrence} time(s) in the document", nameof(marker));
            }
        }

        int lineStart = index == 0 ? 0 : json.LastIndexOf('\n', index - 1) + 1;
        int line = json.AsSpan(0, index).Count('\n') + 1;
        return (line, index - lineStart + 1);
    }
}

/// <summary>Assertions on load results.</summary>
internal static class ModelAssertions
{
    /// <summary>Loads <paramref name="json"/>, checks it is refused as a whole with exactly one error, and returns that error.</summary>
    public static ModelError LoadSingleError(string json, ModelLoadOptions? options = null)
    {
        var result = ScoringModelLoader.Load(json, options);
        result.IsValid.Should().BeFalse();
        result.Model.Should().BeNull("a refused model is never half-loaded");
        result.Errors.Should().ContainSingle("the document has one mistake; errors: {0}", string.Join(" | ", result.Errors));
        return result.Errors[0];
    }

    /// <summary>Loads <paramref name="json"/> and checks it is accepted.</summary>
    public static ScoringModel LoadValid(string json, ModelLoadOptions? options = null)
    {
        var result = ScoringModelLoader.Load(json, options);
        result.Errors.Should().BeEmpty();
        result.IsValid.Should().BeTrue();
        return result.Model!;
    }

    /// <summary>Checks the error's line and column are those of <paramref name="marker"/> in <paramref name="json"/>.</summary>
    public static void ShouldBeAt(this ModelError error, string json, string marker, int occurrence = 1) =>
        error.ShouldBeAt(json, marker, after: null, occurrence);

    /// <summary>Checks the error's line and column are those of the first <paramref name="marker"/> after <paramref name="after"/>.</summary>
    public static void ShouldBeAt(this ModelError error, string json, string marker, string? after, int occurrence = 1)
    {
        var (line, column) = ModelDocuments.PositionOf(json, marker, after, occurrence);
        error.Line.Should().Be(line, "the error should point at {0}", marker);
        error.Column.Should().Be(column, "the error should point at {0}", marker);
    }
}
