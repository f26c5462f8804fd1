using System.Text.Encodings.Web;
using System.Text.Json;

namespace LeadScoring.Messages;

/// <summary>Writes a <see cref="LeadMessage"/> back as a Segment JSON message (for journals kept by stores).</summary>
internal static class MessageJsonWriter
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Write(LeadMessage m)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, Options))
        {
            w.WriteStartObject();
            w.WriteString("type", m.Type.ToString().ToLowerInvariant());
            w.WriteString("messageId", m.MessageId);
            Optional(w, "userId", m.UserId);
            Optional(w, "anonymousId", m.AnonymousId);
            w.WriteString("timestamp", new DateTimeOffset(m.TimestampTicks, TimeSpan.Zero).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture));
            Optional(w, "event", m.Event);
            Optional(w, "name", m.Name);
            Optional(w, "groupId", m.GroupId);
            Optional(w, "previousId", m.PreviousId);
            Value(w, "properties", m.Properties);
            Value(w, "context", m.Context);
            Value(w, "traits", m.Traits);
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void Optional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static void Value(Utf8JsonWriter w, string name, DataValue? value)
    {
        if (value is not null)
        {
            w.WritePropertyName(name);
            Value(w, value);
        }
    }

    private static void Value(Utf8JsonWriter w, DataValue v)
    {
        switch (v.Kind)
        {
            case DataKind.String:
                w.WriteStringValue(v.Text);
                break;
            case DataKind.Number:
                w.WriteRawValue(v.Text!, skipInputValidation: false);
                break;
            case DataKind.True:
                w.WriteBooleanValue(true);
                break;
            case DataKind.False:
                w.WriteBooleanValue(false);
                break;
            case DataKind.Null:
                w.WriteNullValue();
                break;
            case DataKind.Array:
                w.WriteStartArray();
                foreach (var item in v.Items!)
                {
                    Value(w, item);
                }

                w.WriteEndArray();
                break;
            default:
                w.WriteStartObject();
                for (int i = 0; i < v.Keys!.Length; i++)
                {
                    w.WritePropertyName(v.Keys[i]);
                    Value(w, v.Values![i]);
                }

                w.WriteEndObject();
                break;
        }
    }
}
