using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using LeadScoring.Engine;

namespace LeadScoring.Output;

/// <summary>Writes <see cref="LeadResult"/>s as the JSON objects of spec section 5, one per line.</summary>
public static class LeadResultJson
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        SkipValidation = false,
    };

    /// <summary>Formats an instant as ISO 8601 UTC: seconds, fractional digits only when present, and <c>Z</c>.</summary>
    public static string FormatTime(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    /// <summary>Writes one result as a compact JSON object (no line break).</summary>
    public static void Write(Utf8JsonWriter w, LeadResult result)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(result);
        w.WriteStartObject();
        w.WriteString("leadId", result.LeadId);
        w.WriteString("asOf", FormatTime(result.AsOf));
        w.WriteStartObject("scores");
        for (int i = 0; i < result.ScoreNames.Length; i++)
        {
            w.WritePropertyName(result.ScoreNames[i]);
            WriteNumber(w, result.ValueAt(i));
        }

        w.WriteEndObject();
        WriteNullable(w, "grade", result.Grade);
        WriteNullable(w, "persona", result.Persona);
        WriteNullable(w, "stage", result.Stage);
        w.WriteStartArray("stageHistory");
        foreach (var move in result.StageHistory)
        {
            w.WriteStartObject();
            w.WriteString("from", move.From);
            w.WriteString("to", move.To);
            w.WriteString("at", FormatTime(move.At));
            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (result.HasExplanation)
        {
            w.WriteStartArray("contributions");
            foreach (var c in result.Contributions)
            {
                w.WriteStartObject();
                w.WriteString("rule", c.Rule);
                w.WriteString("score", c.Score);
                w.WriteNumber("awards", c.Awards);
                w.WriteNumber("suppressed", c.Suppressed);
                w.WritePropertyName("points");
                WriteNumber(w, c.Points);
                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    /// <summary>One result as a JSON string.</summary>
    public static string ToJson(LeadResult result)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Write(w, result);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Writes results as JSON Lines to <paramref name="stream"/>.</summary>
    public static void WriteLines(Stream stream, IEnumerable<LeadResult> results)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(results);
        using var w = new Utf8JsonWriter(stream, WriterOptions);
        foreach (var r in results)
        {
            Write(w, r);
            w.Flush();
            stream.WriteByte((byte)'\n');
            w.Reset(stream);
        }
    }

    private static void WriteNumber(Utf8JsonWriter w, double v)
    {
        // -0 prints as 0: a score is never "negative zero" to a reader.
        w.WriteNumberValue(v == 0 ? 0 : v);
    }

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
