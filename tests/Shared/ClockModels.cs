namespace LeadScoring.Tests.Shared;

/// <summary>The contract's example of section 3.4 (revision 2, the stage clock) as a model document, for the clock's tests in every project.</summary>
internal static class ClockModels
{
    /// <summary>The example's one rule: a demo request is worth 40 points of engagement.</summary>
    public const string DemoRule = """{ "id": "demo", "score": "engagement", "points": 40, "on": "Demo Requested" }""";

    /// <summary>The example with <c>"stageCheckHours"</c> stated when <paramref name="stageCheckHours"/> is given (the default clock when null).</summary>
    public static string Example(int? stageCheckHours, string rule = DemoRule, string version = "1") =>
        Example(stageCheckHours is { } h ? $", \"stageCheckHours\": {h}" : "", rule, version);

    /// <summary>
    /// Engagement with a 10-day half-life; mql entered at 30, left below 10. One demo at 10:00 on 1 October leaves mql at
    /// midnight 22 October with the default clock, at noon 21 October with <c>"stageCheckHours": 6</c>.
    /// </summary>
    /// <param name="clock">Text added after the stages, e.g. <c>, "stageCheckHours": 6</c>.</param>
    /// <param name="rule">The rule (or rules) of the model.</param>
    /// <param name="version">The model's version.</param>
    public static string Example(string clock = "", string rule = DemoRule, string version = "1") => $$"""
        {
          "name": "clock", "version": "{{version}}",
          "scores": [ { "name": "engagement", "halfLifeDays": 10 } ],
          "rules": [ {{rule}} ],
          "stages": [
            { "name": "lead" },
            { "name": "mql", "enter": { "field": "scores.engagement", "op": "gte", "value": 30 },
              "exit": { "field": "scores.engagement", "op": "lt", "value": 10 } }
          ]{{clock}}
        }
        """;
}
