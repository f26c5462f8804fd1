using System.Text.Encodings.Web;
using System.Text.Json;

namespace LeadScoring.Lab;

/// <summary>The lab's results as one JSON object (NaN, where a measure is undefined, is written as <c>null</c>).</summary>
public static class LabJson
{
    private static readonly JsonWriterOptions Options = new() { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>A backtest as one JSON object, with <c>auc</c> at the top level.</summary>
    public static string Backtest(BacktestResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        return Write(w => WriteBacktest(w, r));
    }

    /// <summary>A diff as one JSON object.</summary>
    public static string Diff(DiffResult d)
    {
        ArgumentNullException.ThrowIfNull(d);
        return Write(w =>
        {
            w.WriteStartObject();
            w.WriteString("modelA", d.ModelA);
            w.WriteString("modelB", d.ModelB);
            w.WriteString("asOf", d.AsOf.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteNumber("leads", d.Leads);
            w.WriteNumber("leadsChanged", d.Changed.Length);
            w.WriteNumber("gradeChanges", d.GradeChanges);
            w.WriteNumber("stageChanges", d.StageChanges);
            w.WriteNumber("mqlsA", d.MqlsA);
            w.WriteNumber("mqlsB", d.MqlsB);
            Strings(w, "mqlsGained", d.MqlsGained);
            Strings(w, "mqlsLost", d.MqlsLost);
            if (d.BacktestA is { } a && d.BacktestB is { } b)
            {
                Num(w, "aucA", a.Auc);
                Num(w, "aucB", b.Auc);
            }

            w.WriteStartArray("shifts");
            foreach (var s in d.Shifts)
            {
                w.WriteStartObject();
                w.WriteString("score", s.Score);
                Num(w, "meanA", s.MeanA);
                Num(w, "meanB", s.MeanB);
                Nums(w, "quantilesA", s.QuantilesA);
                Nums(w, "quantilesB", s.QuantilesB);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("rules");
            foreach (var r in d.Rules)
            {
                w.WriteStartObject();
                w.WriteString("rule", r.Rule);
                Num(w, "pointsA", r.PointsA ?? double.NaN);
                Num(w, "pointsB", r.PointsB ?? double.NaN);
                w.WriteNumber("leadsA", r.LeadsA);
                w.WriteNumber("leadsB", r.LeadsB);
                Num(w, "totalA", r.TotalA);
                Num(w, "totalB", r.TotalB);
                Num(w, "moved", r.Moved);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("changed");
            foreach (var c in d.Changed)
            {
                w.WriteStartObject();
                w.WriteString("leadId", c.LeadId);
                w.WriteStartObject("scores");
                foreach (var (score, va, vb) in c.Scores)
                {
                    w.WriteStartArray(score);
                    w.WriteNumberValue(va);
                    w.WriteNumberValue(vb);
                    w.WriteEndArray();
                }

                w.WriteEndObject();
                Str(w, "gradeA", c.GradeA);
                Str(w, "gradeB", c.GradeB);
                Str(w, "stageA", c.StageA);
                Str(w, "stageB", c.StageB);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private static void WriteBacktest(Utf8JsonWriter w, BacktestResult r)
    {
        w.WriteStartObject();
        w.WriteString("model", r.Model);
        w.WriteString("asOf", r.AsOf.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
        w.WriteString("outcome", r.Outcome.Event);
        w.WriteNumber("windowDays", r.Outcome.WithinDays);
        w.WriteString("score", r.Score);
        w.WriteNumber("leads", r.Leads);
        w.WriteNumber("positives", r.Positives);
        w.WriteNumber("convertedBefore", r.ConvertedBefore);
        Num(w, "baseRate", r.BaseRate);
        Num(w, "auc", r.Auc);
        w.WriteStartArray("aucCi95");
        Value(w, r.AucLow);
        Value(w, r.AucHigh);
        w.WriteEndArray();
        Num(w, "headroomAuc", r.HeadroomAuc);
        if (r.Mqls >= 0)
        {
            w.WriteNumber("mqls", r.Mqls);
        }

        w.WriteStartArray("roc");
        foreach (var (fpr, tpr) in r.Roc)
        {
            w.WriteStartArray();
            Value(w, fpr);
            Value(w, tpr);
            w.WriteEndArray();
        }

        w.WriteEndArray();
        Groups(w, "deciles", r.Deciles);
        Groups(w, "byGrade", r.ByGrade);
        Groups(w, "byStage", r.ByStage);
        Groups(w, "byPersona", r.ByPersona);
        w.WriteStartArray("rules");
        foreach (var s in r.Rules)
        {
            w.WriteStartObject();
            w.WriteString("rule", s.Rule);
            w.WriteString("score", s.Score);
            Num(w, "points", s.Points);
            Num(w, "coverage", s.Coverage);
            Num(w, "rateWith", s.RateWith);
            Num(w, "rateWithout", s.RateWithout);
            Num(w, "lift", s.Lift);
            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }

    private static void Groups(Utf8JsonWriter w, string name, IEnumerable<GroupRate> groups)
    {
        w.WriteStartArray(name);
        foreach (var g in groups)
        {
            w.WriteStartObject();
            w.WriteString("key", g.Key);
            w.WriteNumber("leads", g.Leads);
            w.WriteNumber("positives", g.Positives);
            Num(w, "rate", g.Rate);
            Num(w, "lift", g.Lift);
            Num(w, "minScore", g.MinScore);
            Num(w, "maxScore", g.MaxScore);
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static string Write(Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            body(w);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Num(Utf8JsonWriter w, string name, double v)
    {
        w.WritePropertyName(name);
        Value(w, v);
    }

    private static void Value(Utf8JsonWriter w, double v)
    {
        if (double.IsFinite(v))
        {
            w.WriteNumberValue(Math.Round(v, 10));
        }
        else
        {
            w.WriteNullValue();
        }
    }

    private static void Nums(Utf8JsonWriter w, string name, IEnumerable<double> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            Value(w, v);
        }

        w.WriteEndArray();
    }

    private static void Strings(Utf8JsonWriter w, string name, IEnumerable<string> values)
    {
        w.WriteStartArray(name);
        foreach (var v in values)
        {
            w.WriteStringValue(v);
        }

        w.WriteEndArray();
    }

    private static void Str(Utf8JsonWriter w, string name, string? v)
    {
        if (v is null)
        {
            w.WriteNull(name);
        }
        else
        {
            w.WriteString(name, v);
        }
    }
}
