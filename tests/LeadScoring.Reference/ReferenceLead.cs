using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LeadScoring.Reference;

/// <summary>A stage move (contract 3.4).</summary>
public sealed record ReferenceStageMove(string From, string To, DateTimeOffset At);

/// <summary>One entry of <c>contributions</c> (contract 5, <c>--explain</c>).</summary>
public sealed record ReferenceContribution(string Rule, string Score, int Awards, int Suppressed, double Points);

/// <summary>One output object of contract section 5: what the reference computed, or an output line read back.</summary>
public sealed record ReferenceLead(
    string LeadId,
    DateTimeOffset AsOf,
    IReadOnlyList<KeyValuePair<string, double>> Scores,
    string? Grade,
    string? Persona,
    string? Stage,
    IReadOnlyList<ReferenceStageMove> StageHistory,
    IReadOnlyList<ReferenceContribution>? Contributions)
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The value of one score.</summary>
    public double Score(string name) => Scores.First(s => s.Key == name).Value;

    /// <summary>The contribution of one rule, or null when it is not listed.</summary>
    public ReferenceContribution? Contribution(string rule) => Contributions?.FirstOrDefault(c => c.Rule == rule);

    /// <summary>Formats an instant as contract 5 asks: ISO 8601 UTC, fractional seconds only when present.</summary>
    public static string FormatTime(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>The output line of contract 5 (with <c>contributions</c> when they were computed).</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("leadId", LeadId);
            w.WriteString("asOf", FormatTime(AsOf));
            w.WriteStartObject("scores");
            foreach (var (name, value) in Scores)
            {
                w.WriteNumber(name, value == 0 ? 0 : value);
            }

            w.WriteEndObject();
            WriteNullable(w, "grade", Grade);
            WriteNullable(w, "persona", Persona);
            WriteNullable(w, "stage", Stage);
            w.WriteStartArray("stageHistory");
            foreach (var move in StageHistory)
            {
                w.WriteStartObject();
                w.WriteString("from", move.From);
                w.WriteString("to", move.To);
                w.WriteString("at", FormatTime(move.At));
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (Contributions is not null)
            {
                w.WriteStartArray("contributions");
                foreach (var c in Contributions)
                {
                    w.WriteStartObject();
                    w.WriteString("rule", c.Rule);
                    w.WriteString("score", c.Score);
                    w.WriteNumber("awards", c.Awards);
                    w.WriteNumber("suppressed", c.Suppressed);
                    w.WriteNumber("points", c.Points == 0 ? 0 : c.Points);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Reads one output line of contract 5 (from the reference, the command-line tool or the library).</summary>
    public static ReferenceLead FromJson(string line)
    {
        using var doc = JsonDocument.Parse(line);
        var e = doc.RootElement;
        var contributions = e.TryGetProperty("contributions", out var cs)
            ? cs.EnumerateArray().Select(c => new ReferenceContribution(
                c.GetProperty("rule").GetString()!, c.GetProperty("score").GetString()!,
                c.GetProperty("awards").GetInt32(), c.GetProperty("suppressed").GetInt32(), c.GetProperty("points").GetDouble())).ToList()
            : null;
        return new ReferenceLead(
            e.GetProperty("leadId").GetString()!,
            Time(e.GetProperty("asOf")),
            [.. e.GetProperty("scores").EnumerateObject().Select(p => new KeyValuePair<string, double>(p.Name, p.Value.GetDouble()))],
            e.GetProperty("grade").GetString(),
            e.GetProperty("persona").GetString(),
            e.GetProperty("stage").GetString(),
            [.. e.GetProperty("stageHistory").EnumerateArray().Select(m => new ReferenceStageMove(m.GetProperty("from").GetString()!, m.GetProperty("to").GetString()!, Time(m.GetProperty("at"))))],
            contributions);
    }

    private static DateTimeOffset Time(JsonElement e) =>
        new(ReferenceMessage.ParseTimestamp(e.GetString()!) ?? throw new FormatException($"not an ISO 8601 instant: {e.GetString()}"), TimeSpan.Zero);

    private static void WriteNullable(Utf8JsonWriter w, string name, string? value)
    {
        if (value is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, value);
        }
    }
}

/// <summary>Compares two outputs: ids, grades, personas, stages, histories and counts exactly; numbers with a relative tolerance.</summary>
public static class ReferenceComparison
{
    /// <summary>The default relative tolerance on scores and points.</summary>
    public const double DefaultTolerance = 1e-9;

    /// <summary>
    /// Whether two numbers agree: <c>|a - b| &lt;= tolerance * max(1, |a|, |b|)</c> (relative, and absolute near 0,
    /// where decayed sums that cancel leave rounding noise).
    /// </summary>
    public static bool Close(double expected, double actual, double tolerance = DefaultTolerance) =>
        expected == actual || Math.Abs(expected - actual) <= tolerance * Math.Max(1, Math.Max(Math.Abs(expected), Math.Abs(actual)));

    /// <summary>Every difference between the expected leads and the actual ones, in plain words; empty when they agree.</summary>
    public static IReadOnlyList<string> Differences(IReadOnlyList<ReferenceLead> expected, IReadOnlyList<ReferenceLead> actual, double tolerance = DefaultTolerance)
    {
        var diffs = new List<string>();
        var expectedIds = expected.Select(l => l.LeadId).ToList();
        var actualIds = actual.Select(l => l.LeadId).ToList();
        if (!expectedIds.SequenceEqual(actualIds, StringComparer.Ordinal))
        {
            diffs.Add($"lead ids: expected [{string.Join(", ", expectedIds)}], actual [{string.Join(", ", actualIds)}]");
            return diffs;
        }

        for (int i = 0; i < expected.Count; i++)
        {
            Compare(expected[i], actual[i], tolerance, diffs);
        }

        return diffs;
    }

    private static void Compare(ReferenceLead e, ReferenceLead a, double tolerance, List<string> diffs)
    {
        string id = e.LeadId;
        if (e.AsOf != a.AsOf)
        {
            diffs.Add($"{id}: asOf expected {ReferenceLead.FormatTime(e.AsOf)}, actual {ReferenceLead.FormatTime(a.AsOf)}");
        }

        if (!e.Scores.Select(s => s.Key).SequenceEqual(a.Scores.Select(s => s.Key)))
        {
            diffs.Add($"{id}: score names differ");
        }
        else
        {
            for (int s = 0; s < e.Scores.Count; s++)
            {
                if (!Close(e.Scores[s].Value, a.Scores[s].Value, tolerance))
                {
                    diffs.Add($"{id}: score {e.Scores[s].Key} expected {Num(e.Scores[s].Value)}, actual {Num(a.Scores[s].Value)}");
                }
            }
        }

        Same(id, "grade", e.Grade, a.Grade, diffs);
        Same(id, "persona", e.Persona, a.Persona, diffs);
        Same(id, "stage", e.Stage, a.Stage, diffs);
        string eh = History(e.StageHistory), ah = History(a.StageHistory);
        if (eh != ah)
        {
            diffs.Add($"{id}: stageHistory expected [{eh}], actual [{ah}]");
        }

        if (e.Contributions is null || a.Contributions is null)
        {
            if ((e.Contributions is null) != (a.Contributions is null))
            {
                diffs.Add($"{id}: contributions present on one side only");
            }

            return;
        }

        string Rules(IReadOnlyList<ReferenceContribution> cs) => string.Join(", ", cs.Select(c => $"{c.Rule}({c.Score}) awards {c.Awards} suppressed {c.Suppressed}"));
        string er = Rules(e.Contributions), ar = Rules(a.Contributions);
        if (er != ar)
        {
            diffs.Add($"{id}: contributions expected [{er}], actual [{ar}]");
            return;
        }

        for (int c = 0; c < e.Contributions.Count; c++)
        {
            if (!Close(e.Contributions[c].Points, a.Contributions[c].Points, tolerance))
            {
                diffs.Add($"{id}: rule {e.Contributions[c].Rule} points expected {Num(e.Contributions[c].Points)}, actual {Num(a.Contributions[c].Points)}");
            }
        }
    }

    private static string History(IReadOnlyList<ReferenceStageMove> moves) =>
        string.Join(", ", moves.Select(m => $"{m.From}->{m.To}@{ReferenceLead.FormatTime(m.At)}"));

    private static string Num(double d) => d.ToString("R", CultureInfo.InvariantCulture);

    private static void Same(string id, string what, string? e, string? a, List<string> diffs)
    {
        if (!string.Equals(e, a, StringComparison.Ordinal))
        {
            diffs.Add($"{id}: {what} expected {e ?? "null"}, actual {a ?? "null"}");
        }
    }
}
