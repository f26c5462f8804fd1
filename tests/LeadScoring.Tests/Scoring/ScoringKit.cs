using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Tests.Scoring;

/// <summary>Small helpers shared by the scoring tests: a fixed clock origin, model and message builders.</summary>
internal static class ScoringKit
{
    /// <summary>Day 0 of every test: 2026-11-01T00:00:00Z.</summary>
    public static readonly DateTimeOffset T0 = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>T0 plus <paramref name="days"/> days of 86,400 seconds.</summary>
    public static DateTimeOffset Day(double days) => T0.AddDays(days);

    /// <summary>T0 plus <paramref name="hours"/> hours.</summary>
    public static DateTimeOffset Hour(double hours) => T0.AddHours(hours);

    public static CompiledModel Compile(string modelJson) =>
        CompiledModel.Compile(ScoringModelLoader.Load(modelJson).GetModelOrThrow());

    /// <summary>An engine that puts every late message in its exact place (no reorder horizon).</summary>
    public static LeadScoringEngine NewEngine(string modelJson) =>
        new(Compile(modelJson), LeadScoringEngineOptions.Default);

    /// <summary>An engine with the default options (30-day reorder horizon).</summary>
    public static LeadScoringEngine NewDefaultEngine(string modelJson) => new(Compile(modelJson));

    /// <summary>A property or trait bag.</summary>
    public static Dictionary<string, object?> Bag(params (string Key, object? Value)[] pairs)
    {
        var d = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (k, v) in pairs)
        {
            d[k] = v;
        }

        return d;
    }

    /// <summary>Parses one Segment message; fails the test when it is rejected or ignored.</summary>
    public static LeadMessage Msg(string json)
    {
        var r = MessageParser.Parse(json);
        r.IsRejected.Should().BeFalse(r.Error);
        r.IsIgnored.Should().BeFalse();
        return r.Message!;
    }

    /// <summary>ISO 8601 UTC text of an instant, for messages written as JSON.</summary>
    public static string Iso(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public static LeadResult Eval(this LeadScoringEngine engine, string leadId, DateTimeOffset asOf)
    {
        var r = engine.Evaluate(leadId, asOf, explain: true);
        r.Should().NotBeNull($"lead {leadId} should exist");
        return r!;
    }

    /// <summary>The contribution of rule <paramref name="ruleId"/>, or null when it is not listed.</summary>
    public static RuleContribution? Contribution(this LeadResult r, string ruleId)
    {
        foreach (var c in r.Contributions)
        {
            if (c.Rule == ruleId)
            {
                return c;
            }
        }

        return null;
    }

    /// <summary>Spec 5: for every listed score, the points of its rules add up to its raw value.</summary>
    public static void ShouldExplainRaw(this LeadResult r, params string[] scores)
    {
        foreach (var s in scores)
        {
            double sum = r.Contributions.Where(c => c.Score == s).Sum(c => c.Points);
            sum.Should().BeApproximately(r.Raw(s), 1e-9, $"the points of the rules of '{s}' add up to its raw value");
        }
    }

    public const double Tolerance = 1e-9;
}
