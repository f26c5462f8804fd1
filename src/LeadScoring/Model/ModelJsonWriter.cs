using System.Text.Encodings.Web;
using System.Text.Json;

namespace LeadScoring.Model;

/// <summary>Writes a <see cref="ScoringModel"/> as the JSON document of spec section 3.</summary>
internal static class ModelJsonWriter
{
    public static string Write(ScoringModel model, bool indented)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = indented, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("name", model.Name);
            w.WriteString("version", model.Version);
            Optional(w, "description", model.Description);
            w.WriteStartArray("scores");
            foreach (var s in model.Scores)
            {
                w.WriteStartObject();
                w.WriteString("name", s.Name);
                Optional(w, "min", s.Min);
                Optional(w, "max", s.Max);
                Optional(w, "halfLifeDays", s.HalfLifeDays);
                if (s.IsComposite)
                {
                    w.WriteStartObject("sum");
                    foreach (var (name, weight) in s.Sum)
                    {
                        Optional(w, name, weight);
                    }

                    w.WriteEndObject();
                }

                Optional(w, "description", s.Description);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteStartArray("rules");
            foreach (var r in model.Rules)
            {
                w.WriteStartObject();
                w.WriteString("id", r.Id);
                w.WriteString("score", r.Score);
                Optional(w, "points", r.Points);
                Optional(w, "description", r.Description);
                if (r.IsEventRule)
                {
                    w.WritePropertyName("on");
                    Names(w, r.On);
                }

                if (r.When is not null)
                {
                    w.WritePropertyName("when");
                    WriteCondition(w, r.When);
                }

                if (r.Limit is { } l)
                {
                    w.WriteStartObject("limit");
                    w.WriteNumber("count", l.Count);
                    Optional(w, "perDays", l.PerDays);
                    Optional(w, "per", l.Per);
                    w.WriteEndObject();
                }

                if (r.After is { } a)
                {
                    w.WriteStartObject("after");
                    w.WriteNumber("count", a.Count);
                    Optional(w, "withinDays", a.WithinDays);
                    w.WriteEndObject();
                }

                Optional(w, "halfLifeDays", r.HalfLifeDays);
                Optional(w, "expiresAfterDays", r.ExpiresAfterDays);
                Optional(w, "maxPoints", r.MaxPoints);
                Optional(w, "minPoints", r.MinPoints);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            if (model.Grade is { } g)
            {
                w.WriteStartObject("grade");
                w.WriteString("score", g.Score);
                w.WriteStartArray("bands");
                foreach (var b in g.Bands)
                {
                    w.WriteStartObject();
                    w.WriteString("grade", b.Grade);
                    Optional(w, "min", b.Min);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            if (!model.Personas.IsDefaultOrEmpty)
            {
                w.WriteStartArray("personas");
                foreach (var p in model.Personas)
                {
                    w.WriteStartObject();
                    w.WriteString("name", p.Name);
                    w.WritePropertyName("when");
                    WriteCondition(w, p.When);
                    Optional(w, "description", p.Description);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            if (!model.Stages.IsDefaultOrEmpty)
            {
                w.WriteStartArray("stages");
                foreach (var s in model.Stages)
                {
                    w.WriteStartObject();
                    w.WriteString("name", s.Name);
                    if (s.Enter is not null)
                    {
                        w.WritePropertyName("enter");
                        WriteCondition(w, s.Enter);
                    }

                    if (s.Exit is not null)
                    {
                        w.WritePropertyName("exit");
                        WriteCondition(w, s.Exit);
                    }

                    Optional(w, "description", s.Description);
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            if (model.StageCheckHours is { } hours)
            {
                w.WriteNumber("stageCheckHours", hours);
            }

            if (model.Outcome is { } outcome)
            {
                w.WriteStartObject("outcome");
                w.WriteString("event", outcome.Event);
                w.WriteNumber("withinDays", outcome.WithinDays);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Names(Utf8JsonWriter w, System.Collections.Immutable.ImmutableArray<string> names)
    {
        if (names.Length == 1)
        {
            w.WriteStringValue(names[0]);
            return;
        }

        w.WriteStartArray();
        foreach (var n in names)
        {
            w.WriteStringValue(n);
        }

        w.WriteEndArray();
    }

    internal static void WriteCondition(Utf8JsonWriter w, Condition condition)
    {
        w.WriteStartObject();
        switch (condition)
        {
            case FieldCondition f:
                w.WriteString("field", f.Field);
                w.WriteString("op", OperatorName(f.Operator));
                if (f.Value is not null)
                {
                    w.WritePropertyName("value");
                    WriteValue(w, f.Value);
                }

                break;
            case AllCondition a:
                w.WriteStartArray("all");
                foreach (var c in a.Conditions)
                {
                    WriteCondition(w, c);
                }

                w.WriteEndArray();
                break;
            case AnyCondition a:
                w.WriteStartArray("any");
                foreach (var c in a.Conditions)
                {
                    WriteCondition(w, c);
                }

                w.WriteEndArray();
                break;
            case NotCondition n:
                w.WritePropertyName("not");
                WriteCondition(w, n.Condition);
                break;
            case OccurredCondition o:
                w.WritePropertyName("occurred");
                Names(w, o.Events);
                Optional(w, "withinDays", o.WithinDays);
                break;
        }

        w.WriteEndObject();
    }

    internal static string OperatorName(ConditionOperator op)
    {
        string name = op.ToString();
        return char.ToLowerInvariant(name[0]) + name[1..];
    }

    private static void WriteValue(Utf8JsonWriter w, ModelValue v)
    {
        switch (v.Kind)
        {
            case ModelValueKind.String:
                w.WriteStringValue(v.Text);
                break;
            case ModelValueKind.Number:
                if (double.IsFinite(v.Number))
                {
                    w.WriteNumberValue(v.Number);
                }
                else
                {
                    // Not representable in JSON; written as a string so the loader reports it at this path.
                    w.WriteRawValue("1e400", skipInputValidation: true);
                }

                break;
            case ModelValueKind.Boolean:
                w.WriteBooleanValue(v.Boolean);
                break;
            default:
                w.WriteStartArray();
                foreach (var item in v.Items)
                {
                    WriteValue(w, item);
                }

                w.WriteEndArray();
                break;
        }
    }

    private static void Optional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static void Optional(Utf8JsonWriter w, string name, double? value)
    {
        if (value is { } v)
        {
            if (double.IsFinite(v))
            {
                w.WriteNumber(name, v);
            }
            else
            {
                // JSON has no infinity: write a number that overflows, so the loader reports "must be a finite number" here.
                w.WritePropertyName(name);
                w.WriteRawValue("1e400", skipInputValidation: true);
            }
        }
    }
}
