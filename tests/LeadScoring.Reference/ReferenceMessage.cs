using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace LeadScoring.Reference;

/// <summary>One usable input message (contract 2.1), read with <see cref="JsonDocument"/>.</summary>
internal sealed partial class ReferenceMessage
{
    public required string Type { get; init; }

    public required string MessageId { get; init; }

    public string? UserId { get; init; }

    public string? AnonymousId { get; init; }

    public string? PreviousId { get; init; }

    public string? GroupId { get; init; }

    public string? Event { get; init; }

    /// <summary>UTC ticks of <c>timestamp</c>.</summary>
    public long Ticks { get; init; }

    public JsonElement? Properties { get; init; }

    public JsonElement? Context { get; init; }

    public JsonElement? Traits { get; init; }

    /// <summary>The message's JSON text, the last tie-breaker between two copies (see <see cref="Parse"/>).</summary>
    public required string Raw { get; init; }

    /// <summary>Every id the message names: the ids it links (contract 2.2).</summary>
    public IEnumerable<string> Ids()
    {
        if (UserId is not null)
        {
            yield return UserId;
        }

        if (AnonymousId is not null)
        {
            yield return AnonymousId;
        }

        if (PreviousId is not null)
        {
            yield return PreviousId;
        }
    }

    /// <summary>
    /// Reads every message of one input line: a JSON object, or <c>{"batch": [...]}</c>. Messages that cannot be used
    /// (2.1) and messages of an ignored type are left out: neither counts nor creates a lead.
    /// </summary>
    public static IEnumerable<ReferenceMessage> ParseLine(string line)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            yield break;
        }

        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(line);
            root = doc.RootElement.Clone();
        }
        catch (JsonException)
        {
            yield break;
        }

        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("batch", out var batch) && batch.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in batch.EnumerateArray())
            {
                if (Parse(item) is { } m)
                {
                    yield return m;
                }
            }
        }
        else if (Parse(root) is { } m)
        {
            yield return m;
        }
    }

    private static ReferenceMessage? Parse(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        // The contract writes types in lower case; like the library, any case is read (an "Identify" is an identify).
        string? type = Text(e, "type")?.ToLowerInvariant();
        if (type is not ("identify" or "track" or "page" or "group" or "alias"))
        {
            return null; // rejected, or an ignored type such as screen
        }

        // Empty-string ids count as absent (docs/decisions.md, Messages).
        string? userId = NonEmpty(Text(e, "userId"));
        string? anonymousId = NonEmpty(Text(e, "anonymousId"));
        string? previousId = NonEmpty(Text(e, "previousId"));
        if (userId is null && anonymousId is null)
        {
            return null;
        }

        if (Text(e, "timestamp") is not { } ts || ParseTimestamp(ts) is not { } ticks)
        {
            return null;
        }

        string? eventName = Text(e, "event");
        string? groupId = NonEmpty(Text(e, "groupId"));
        if ((type == "track" && eventName is null) || (type == "alias" && (previousId is null || userId is null)) || (type == "group" && groupId is null))
        {
            return null;
        }

        string raw = e.GetRawText();

        // The contract says nothing about a message without messageId. The library gives it "~" + a hash of its
        // text (docs/decisions.md) so that an exact copy is a duplicate; the reference uses "~" + the text itself,
        // which has the same effect (the relative order of such messages at one instant may differ).
        string messageId = NonEmpty(Text(e, "messageId")) ?? "~" + raw;
        return new ReferenceMessage
        {
            Type = type,
            MessageId = messageId,
            UserId = userId,
            AnonymousId = anonymousId,
            PreviousId = type == "alias" ? previousId : null,
            GroupId = type == "group" ? groupId : null,
            Event = type == "track" ? eventName : null,
            Ticks = ticks,
            Properties = Object(e, "properties"),
            Context = Object(e, "context"),
            Traits = Object(e, "traits"),
            Raw = raw,
        };
    }

    [GeneratedRegex(@"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(?:([Zz])|([+-])(\d{2}):?(\d{2}))$", RegexOptions.CultureInvariant)]
    private static partial Regex TimestampPattern();

    /// <summary>ISO 8601 with <c>Z</c> or an offset (2.1); a time without an offset names no instant.</summary>
    internal static long? ParseTimestamp(string text)
    {
        var m = TimestampPattern().Match(text);
        if (!m.Success)
        {
            return null;
        }

        int Int(int group) => m.Groups[group].Success ? int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
        try
        {
            var offset = m.Groups[8].Success
                ? TimeSpan.Zero
                : new TimeSpan(Int(10), Int(11), 0) * (m.Groups[9].Value == "-" ? -1 : 1);
            var local = new DateTime(Int(1), Int(2), Int(3), Int(4), Int(5), Int(6), DateTimeKind.Unspecified);
            long fraction = m.Groups[7].Success ? long.Parse(m.Groups[7].Value.PadRight(7, '0'), CultureInfo.InvariantCulture) : 0;
            return new DateTimeOffset(local.AddTicks(fraction), offset).UtcTicks;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    private static string? NonEmpty(string? s) => string.IsNullOrEmpty(s) ? null : s;

    private static JsonElement? Object(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Object ? v : null;
}
