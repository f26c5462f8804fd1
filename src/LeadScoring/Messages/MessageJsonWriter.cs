using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace LeadScoring.Messages;

/// <summary>Writes a <see cref="LeadMessage"/> back as a Segment JSON message (for journals kept by stores).</summary>
internal static class MessageJsonWriter
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    // One buffer and writer per thread, reused: writing a message allocates only the string returned.
    [ThreadStatic]
    private static (ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Writer)? t_scratch;

    public static string Write(LeadMessage m)
    {
        var (buffer, w) = t_scratch ??= Scratch();
        buffer.ResetWrittenCount();
        w.Reset(buffer);
        Write(w, m);
        w.Flush();
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static (ArrayBufferWriter<byte>, Utf8JsonWriter) Scratch()
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        return (buffer, new Utf8JsonWriter(buffer, Options));
    }

    /// <summary>Writes <paramref name="m"/> as one Segment JSON object (what <see cref="Write(LeadMessage)"/> returns) to <paramref name="w"/>.</summary>
    public static void Write(Utf8JsonWriter w, LeadMessage m)
    {
        w.WriteStartObject();
        w.WriteString("type", TypeName(m.Type));
        w.WriteString("messageId", m.MessageId);
        Optional(w, "userId", m.UserId);
        Optional(w, "anonymousId", m.AnonymousId);
        Span<char> timestamp = stackalloc char[40];
        new DateTime(m.TimestampTicks, DateTimeKind.Utc).TryFormat(timestamp, out int length, "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", System.Globalization.CultureInfo.InvariantCulture);
        w.WriteString("timestamp", timestamp[..length]);
        Optional(w, "event", m.Event);
        Optional(w, "name", m.Name);
        Optional(w, "groupId", m.GroupId);
        Optional(w, "previousId", m.PreviousId);
        Value(w, "properties", m.Properties);
        Value(w, "context", m.Context);
        Value(w, "traits", m.Traits);
        w.WriteEndObject();
    }

    private static string TypeName(MessageType type) => type switch
    {
        MessageType.Track => "track",
        MessageType.Page => "page",
        MessageType.Identify => "identify",
        MessageType.Group => "group",
        MessageType.Alias => "alias",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a message type"),
    };

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
