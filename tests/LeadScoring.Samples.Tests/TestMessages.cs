using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Output;

namespace LeadScoring.Samples.Tests;

/// <summary>Small hand-written messages with ids unique to one test, and their expected output.</summary>
internal static class TestMessages
{
    public static string Track(string userId, string eventName = "Demo Requested", string timestamp = "2026-11-20T10:00:00Z") =>
        $$"""{"type":"track","messageId":"{{userId}}-t-{{timestamp}}","userId":"{{userId}}","event":"{{eventName}}","timestamp":"{{timestamp}}"}""";

    public static string Identify(string userId, string title = "VP Marketing") =>
        $$$"""{"type":"identify","messageId":"{{{userId}}}-i","userId":"{{{userId}}}","timestamp":"2026-11-20T09:00:00Z","traits":{"title":"{{{title}}}","employees":800}}""";

    /// <summary>The CLI's line for the lead of <paramref name="messages"/> at <see cref="SampleData.AsOf"/>.</summary>
    public static string Expected(string leadId, params string[] messages)
    {
        var parsed = messages.Select(m => MessageParser.Parse(m).Message ?? throw new ArgumentException("invalid test message: " + m)).ToList();
        var result = LeadScoring.Tests.Shared.SortedScoring.Score(SampleData.Model, parsed, SampleData.AsOf, explain: true).Single(r => r.LeadId == leadId);
        return LeadResultJson.ToJson(result);
    }
}
