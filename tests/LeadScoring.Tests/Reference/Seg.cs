using System.Globalization;
using System.Text.Json;

namespace LeadScoring.Tests.Reference;

/// <summary>Builds Segment messages as JSON lines (contract 2.1) for the reference and the engine alike.</summary>
internal static class Seg
{
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset At(string iso) => DateTimeOffset.Parse(iso, CultureInfo.InvariantCulture);

    public static string Track(string id, DateTimeOffset t, string eventName, string? userId = null, string? anonymousId = null, object? properties = null, object? context = null) =>
        Line(new Dictionary<string, object?> { ["type"] = "track", ["event"] = eventName, ["properties"] = properties, ["context"] = context }, id, t, userId, anonymousId);

    public static string Page(string id, DateTimeOffset t, string path, string? userId = null, string? anonymousId = null, object? context = null) =>
        Line(new Dictionary<string, object?> { ["type"] = "page", ["properties"] = new { path }, ["context"] = context }, id, t, userId, anonymousId);

    public static string Identify(string id, DateTimeOffset t, object traits, string? userId = null, string? anonymousId = null) =>
        Line(new Dictionary<string, object?> { ["type"] = "identify", ["traits"] = traits }, id, t, userId, anonymousId);

    public static string Group(string id, DateTimeOffset t, string groupId, object? traits, string? userId = null, string? anonymousId = null) =>
        Line(new Dictionary<string, object?> { ["type"] = "group", ["groupId"] = groupId, ["traits"] = traits }, id, t, userId, anonymousId);

    public static string Alias(string id, DateTimeOffset t, string userId, string previousId) =>
        Line(new Dictionary<string, object?> { ["type"] = "alias", ["previousId"] = previousId }, id, t, userId, null);

    public static string Screen(string id, DateTimeOffset t, string userId) =>
        Line(new Dictionary<string, object?> { ["type"] = "screen", ["name"] = "Home" }, id, t, userId, null);

    private static string Line(Dictionary<string, object?> fields, string id, DateTimeOffset t, string? userId, string? anonymousId)
    {
        fields["messageId"] = id;
        fields["timestamp"] = Time(t);
        fields["userId"] = userId;
        fields["anonymousId"] = anonymousId;
        var present = fields.Where(f => f.Value is not null).ToDictionary(f => f.Key, f => f.Value);
        return JsonSerializer.Serialize(present);
    }
}
