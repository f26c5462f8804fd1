using System.Text.Json;

namespace LeadScoring.Reference;

/// <summary>
/// The model document of contract section 3, read with <see cref="JsonDocument"/> and kept as plain data.
/// No validation (section 4): the reference assumes a valid model. Conditions stay as JSON elements and are
/// interpreted each time they are evaluated (see <see cref="ReferenceConditions"/>).
/// </summary>
internal sealed class ReferenceModel
{
    public List<ScoreDef> Scores { get; } = [];

    public List<RuleDef> Rules { get; } = [];

    public GradeDef? Grade { get; private set; }

    public List<(string Name, JsonElement When)> Personas { get; } = [];

    public List<StageDef> Stages { get; } = [];

    /// <summary>Contract 3.4 (revision 2): default 24; 0 turns the clock off.</summary>
    public int StageCheckHours { get; private set; } = 24;

    public bool HasPersonas { get; private set; }

    public ScoreDef Score(string name) => Scores.First(s => s.Name == name);

    public static ReferenceModel Parse(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement.Clone();
        var model = new ReferenceModel();
        foreach (var s in root.GetProperty("scores").EnumerateArray())
        {
            var score = new ScoreDef(s.GetProperty("name").GetString()!)
            {
                Min = OptionalNumber(s, "min"),
                Max = OptionalNumber(s, "max"),
                HalfLifeDays = OptionalNumber(s, "halfLifeDays"),
            };
            if (s.TryGetProperty("sum", out var sum))
            {
                score.Sum = [.. sum.EnumerateObject().Select(p => (p.Name, p.Value.GetDouble()))];
            }

            model.Scores.Add(score);
        }

        if (root.TryGetProperty("rules", out var rules))
        {
            foreach (var r in rules.EnumerateArray())
            {
                var rule = new RuleDef(r.GetProperty("id").GetString()!, r.GetProperty("score").GetString()!, r.GetProperty("points").GetDouble())
                {
                    When = r.TryGetProperty("when", out var when) ? when : null,
                    HalfLifeDays = OptionalNumber(r, "halfLifeDays"),
                    ExpiresAfterDays = OptionalNumber(r, "expiresAfterDays"),
                    MaxPoints = OptionalNumber(r, "maxPoints"),
                    MinPoints = OptionalNumber(r, "minPoints"),
                };
                if (r.TryGetProperty("on", out var on))
                {
                    rule.On = on.ValueKind == JsonValueKind.Array ? [.. on.EnumerateArray().Select(x => x.GetString()!)] : [on.GetString()!];
                }

                if (r.TryGetProperty("limit", out var limit))
                {
                    rule.LimitCount = limit.GetProperty("count").GetInt32();
                    rule.LimitPerDays = OptionalNumber(limit, "perDays");
                    rule.LimitPer = limit.TryGetProperty("per", out var per) ? per.GetString() : null;
                }

                if (r.TryGetProperty("after", out var after))
                {
                    rule.AfterCount = after.GetProperty("count").GetInt32();
                    rule.AfterWithinDays = after.GetProperty("withinDays").GetDouble();
                }

                model.Rules.Add(rule);
            }
        }

        if (root.TryGetProperty("grade", out var grade))
        {
            model.Grade = new GradeDef(
                grade.GetProperty("score").GetString()!,
                [.. grade.GetProperty("bands").EnumerateArray().Select(b => (b.GetProperty("grade").GetString()!, OptionalNumber(b, "min")))]);
        }

        if (root.TryGetProperty("personas", out var personas))
        {
            model.HasPersonas = true;
            foreach (var p in personas.EnumerateArray())
            {
                model.Personas.Add((p.GetProperty("name").GetString()!, p.GetProperty("when")));
            }
        }

        if (root.TryGetProperty("stages", out var stages))
        {
            foreach (var st in stages.EnumerateArray())
            {
                model.Stages.Add(new StageDef(
                    st.GetProperty("name").GetString()!,
                    st.TryGetProperty("enter", out var enter) ? enter : null,
                    st.TryGetProperty("exit", out var exit) ? exit : null));
            }
        }

        if (root.TryGetProperty("stageCheckHours", out var hours))
        {
            model.StageCheckHours = hours.GetInt32();
        }

        return model;
    }

    private static double? OptionalNumber(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
}

internal sealed class ScoreDef(string name)
{
    public string Name { get; } = name;

    public double? Min { get; init; }

    public double? Max { get; init; }

    public double? HalfLifeDays { get; init; }

    /// <summary>A composite's weights, in the order written; null for a score with rules.</summary>
    public List<(string Component, double Weight)>? Sum { get; set; }

    public double Clamp(double v)
    {
        if (Min is { } min && v < min)
        {
            v = min;
        }

        if (Max is { } max && v > max)
        {
            v = max;
        }

        return v;
    }
}

internal sealed class RuleDef(string id, string score, double points)
{
    public string Id { get; } = id;

    public string Score { get; } = score;

    public double Points { get; } = points;

    /// <summary>Event names (or <c>$page</c>); null for a trait rule.</summary>
    public List<string>? On { get; set; }

    public bool IsEvent => On is not null;

    public JsonElement? When { get; init; }

    public int? LimitCount { get; set; }

    public double? LimitPerDays { get; set; }

    public string? LimitPer { get; set; }

    public int? AfterCount { get; set; }

    public double? AfterWithinDays { get; set; }

    public double? HalfLifeDays { get; init; }

    public double? ExpiresAfterDays { get; init; }

    public double? MaxPoints { get; init; }

    public double? MinPoints { get; init; }
}

internal sealed record GradeDef(string Score, List<(string Grade, double? Min)> Bands);

internal sealed record StageDef(string Name, JsonElement? Enter, JsonElement? Exit);
