using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LeadScoring.Messages;

/// <summary>The outcome of parsing one message.</summary>
public readonly struct MessageParseResult
{
    private MessageParseResult(LeadMessage? message, string? error, string? ignoredType)
    {
        Message = message;
        Error = error;
        IgnoredType = ignoredType;
    }

    /// <summary>The message, when it can be used.</summary>
    public LeadMessage? Message { get; }

    /// <summary>Why the message was rejected, when it was.</summary>
    public string? Error { get; }

    /// <summary>The type of a message that is valid but of a type the engine ignores (e.g. <c>screen</c>).</summary>
    public string? IgnoredType { get; }

    /// <summary>Whether the message was rejected.</summary>
    public bool IsRejected => Error is not null;

    /// <summary>Whether the message is of an ignored type.</summary>
    public bool IsIgnored => IgnoredType is not null;

    internal static MessageParseResult Ok(LeadMessage m) => new(m, null, null);

    /// <summary>A rejection with its reason, for a reader that refuses input before it is parsed (a line too long, a file in another format).</summary>
    public static MessageParseResult Reject(string reason) => new(null, reason ?? throw new ArgumentNullException(nameof(reason)), null);

    internal static MessageParseResult Ignore(string type) => new(null, null, type);
}

/// <summary>Parses Segment messages (spec 2.1) from JSON; every unusable message gets a reason, never an exception.</summary>
public static class MessageParser
{
    /// <summary>Longest accepted message, in bytes (1 MiB).</summary>
    public const int MaxMessageBytes = 1024 * 1024;

    /// <summary>Parses one message from UTF-8 JSON, within the default <see cref="MessageLimits"/>.</summary>
    public static MessageParseResult Parse(ReadOnlySpan<byte> utf8Json) => Parse(utf8Json, MessageLimits.Default);

    /// <summary>Parses one message from UTF-8 JSON within <paramref name="limits"/>: a message over a limit is rejected with the limit's name.</summary>
    public static MessageParseResult Parse(ReadOnlySpan<byte> utf8Json, MessageLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (utf8Json.Length > MaxMessageBytes)
        {
            return MessageParseResult.Reject($"the message is larger than {MaxMessageBytes} bytes");
        }

        if (limits.Check(utf8Json) is { } problem)
        {
            return MessageParseResult.Reject(problem);
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(utf8Json.ToArray(), new JsonDocumentOptions { MaxDepth = limits.MaxDepth + 1 });
        }
        catch (JsonException ex)
        {
            return MessageParseResult.Reject("not valid JSON: " + ShortJsonMessage(ex));
        }

        using (doc)
        {
            return Parse(doc.RootElement, utf8Json);
        }
    }

    /// <summary>Parses a message element of a batch: checks <paramref name="raw"/> within <paramref name="limits"/> first.</summary>
    internal static MessageParseResult Parse(JsonElement e, ReadOnlySpan<byte> raw, MessageLimits limits) =>
        limits.Check(raw) is { } problem ? MessageParseResult.Reject(problem) : Parse(e, raw);

    /// <summary>Parses a message element, turning text that is not valid Unicode into a rejection.</summary>
    internal static MessageParseResult Parse(JsonElement e, ReadOnlySpan<byte> raw)
    {
        try
        {
            return ParseElement(e, raw);
        }
        catch (InvalidOperationException ex)
        {
            // System.Text.Json refuses to decode a lone surrogate such as "\ud800" into a string.
            return MessageParseResult.Reject("a string is not valid Unicode: " + ex.Message);
        }
    }

    /// <summary>Parses one message from a JSON string.</summary>
    public static MessageParseResult Parse(string json) => Parse(Encoding.UTF8.GetBytes(json));

    internal static string ShortJsonMessage(JsonException ex)
    {
        string m = ex.Message;
        int cut = m.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? m[..cut] : m).TrimEnd('.', ' ');
    }

    /// <summary>Parses one message from a JSON element; <paramref name="raw"/> identifies a message that has no <c>messageId</c>.</summary>
    private static MessageParseResult ParseElement(JsonElement e, ReadOnlySpan<byte> raw)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return MessageParseResult.Reject($"a message must be a JSON object, not {e.ValueKind.ToString().ToLowerInvariant()}");
        }

        if (!e.TryGetProperty("type", out var typeElement) || typeElement.ValueKind != JsonValueKind.String)
        {
            return MessageParseResult.Reject(typeElement.ValueKind == JsonValueKind.Undefined ? "no 'type'" : "'type' must be a string");
        }

        string typeName = typeElement.GetString()!;
        MessageType type;
        switch (typeName.ToLowerInvariant())
        {
            case "identify": type = MessageType.Identify; break;
            case "track": type = MessageType.Track; break;
            case "page": type = MessageType.Page; break;
            case "group": type = MessageType.Group; break;
            case "alias": type = MessageType.Alias; break;
            default: return MessageParseResult.Ignore(typeName);
        }

        if (!OptionalString(e, "userId", out string? userId, out string? error) ||
            !OptionalString(e, "anonymousId", out string? anonymousId, out error) ||
            !OptionalString(e, "messageId", out string? messageId, out error))
        {
            return MessageParseResult.Reject(error!);
        }

        if (userId is null && anonymousId is null)
        {
            return MessageParseResult.Reject("no 'userId' or 'anonymousId'");
        }

        if (!e.TryGetProperty("timestamp", out var ts) || ts.ValueKind == JsonValueKind.Null)
        {
            return MessageParseResult.Reject("no 'timestamp'");
        }

        if (ts.ValueKind != JsonValueKind.String || !TryParseTimestamp(ts.GetString()!, out long ticks))
        {
            return MessageParseResult.Reject($"bad 'timestamp' {ts.GetRawText()}: expected ISO 8601 with a UTC offset or Z, e.g. 2026-11-05T14:03:00Z");
        }

        string? eventName = null, name = null, groupId = null, previousId = null;
        switch (type)
        {
            case MessageType.Track:
                if (!OptionalString(e, "event", out eventName, out error))
                {
                    return MessageParseResult.Reject(error!);
                }

                if (eventName is null)
                {
                    return MessageParseResult.Reject("a track message without 'event'");
                }

                break;
            case MessageType.Page:
                if (!OptionalString(e, "name", out name, out error))
                {
                    return MessageParseResult.Reject(error!);
                }

                break;
            case MessageType.Group:
                if (!OptionalString(e, "groupId", out groupId, out error))
                {
                    return MessageParseResult.Reject(error!);
                }

                if (groupId is null)
                {
                    return MessageParseResult.Reject("a group message without 'groupId'");
                }

                break;
            case MessageType.Alias:
                if (!OptionalString(e, "previousId", out previousId, out error))
                {
                    return MessageParseResult.Reject(error!);
                }

                if (previousId is null)
                {
                    return MessageParseResult.Reject("an alias message without 'previousId'");
                }

                if (userId is null)
                {
                    return MessageParseResult.Reject("an alias message without 'userId'");
                }

                break;
        }

        DataValue? properties = null, context = null, traits = null;
        if (!OptionalObject(e, "context", out context, out error))
        {
            return MessageParseResult.Reject(error!);
        }

        if (type is MessageType.Track or MessageType.Page && !OptionalObject(e, "properties", out properties, out error))
        {
            return MessageParseResult.Reject(error!);
        }

        if (type is MessageType.Identify or MessageType.Group && !OptionalObject(e, "traits", out traits, out error))
        {
            return MessageParseResult.Reject(error!);
        }

        messageId ??= SyntheticId(raw);
        return MessageParseResult.Ok(new LeadMessage(type, messageId, userId, anonymousId, ticks, eventName, name, groupId, previousId, properties, context, traits));
    }

    /// <summary>A stable id for a message that has none: its content's hash, so an exact copy is a duplicate.</summary>
    private static string SyntheticId(ReadOnlySpan<byte> raw)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(raw, hash);
        return "~" + Convert.ToHexString(hash[..16]).ToLowerInvariant();
    }

    private static bool OptionalString(JsonElement e, string key, out string? value, out string? error)
    {
        value = null;
        error = null;
        if (!e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (v.ValueKind != JsonValueKind.String)
        {
            error = $"'{key}' must be a string, not {v.ValueKind.ToString().ToLowerInvariant()}";
            return false;
        }

        string s = v.GetString()!;
        value = s.Length == 0 ? null : s;
        return true;
    }

    private static bool OptionalObject(JsonElement e, string key, out DataValue? value, out string? error)
    {
        value = null;
        error = null;
        if (!e.TryGetProperty(key, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return true;
        }

        if (v.ValueKind != JsonValueKind.Object)
        {
            error = $"'{key}' must be an object, not {v.ValueKind.ToString().ToLowerInvariant()}";
            return false;
        }

        value = DataValue.FromJson(v);
        return true;
    }

    /// <summary>
    /// Parses ISO 8601 with a mandatory offset: <c>yyyy-MM-ddTHH:mm:ss[.fffffff](Z|±HH:mm|±HHmm)</c>.
    /// A time without an offset is refused: it names no instant.
    /// </summary>
    public static bool TryParseTimestamp(string text, out long utcTicks)
    {
        utcTicks = 0;
        if (text.Length < 17 || text.Length > 40)
        {
            return false;
        }

        if (text.Length >= 17 && text[^1] == 'z')
        {
            text = string.Concat(text.AsSpan(0, text.Length - 1), "Z");
        }

        char last = text[^1];
        bool hasOffset = last is 'Z' ||
            (text.Length >= 25 && text[^6] is '+' or '-' && text[^3] == ':') ||
            (text.Length >= 24 && text[^5] is '+' or '-' && char.IsAsciiDigit(text[^4]));
        if (!hasOffset || text[10] is not ('T' or 't'))
        {
            return false;
        }

        if (!DateTimeOffset.TryParseExact(text, Formats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var dto))
        {
            return false;
        }

        utcTicks = dto.UtcTicks;
        return true;
    }

    private static readonly string[] Formats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd't'HH:mm:ssK", "yyyy-MM-dd't'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mm:sszzz", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz",
        "yyyy-MM-dd'T'HH:mm:sszz00", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzz00",
        "yyyy-MM-dd'T'HH:mmK", "yyyy-MM-dd't'HH:mmK", "yyyy-MM-dd'T'HH:mmzzz",
    ];
}
