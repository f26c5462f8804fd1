using System.Text.Json;
using LeadScoring.Engine;

namespace LeadScoring.Hosting;

/// <summary>Notification arguments as JSON for the outbox.</summary>
internal static class NotificationJson
{
    public static string Write(StageChangedArguments a) => JsonSerializer.Serialize(new StageDto(a.LeadId, a.From, a.To, a.At, a.ModelVersion, a.MessageId));

    public static StageChangedArguments ReadStage(string json)
    {
        var d = JsonSerializer.Deserialize<StageDto>(json)!;
        return new StageChangedArguments(d.LeadId, d.From, d.To, d.At, d.ModelVersion, d.MessageId);
    }

    public static string Write(ScoreChangedArguments a) => JsonSerializer.Serialize(new ScoreDto(a.LeadId, Dto(a.Previous), Dto(a.Current)!, a.MessageId));

    public static ScoreChangedArguments ReadScore(string json)
    {
        var d = JsonSerializer.Deserialize<ScoreDto>(json)!;
        return new ScoreChangedArguments(d.LeadId, Entry(d.Previous), Entry(d.Current)!, d.MessageId);
    }

    private static EntryDto? Dto(ScoreHistoryEntry? e) =>
        e is null ? null : new EntryDto(e.LeadId, e.At, e.Scores.Select(s => s.Key).ToArray(), e.Scores.Select(s => s.Value).ToArray(), e.Grade, e.Stage, e.ModelVersion, e.MessageId);

    private static ScoreHistoryEntry? Entry(EntryDto? d) =>
        d is null ? null : new ScoreHistoryEntry(d.LeadId, d.At, [.. d.Names.Zip(d.Values, (n, v) => new KeyValuePair<string, double>(n, v))], d.Grade, d.Stage, d.ModelVersion, d.MessageId);

    private sealed record StageDto(string LeadId, string From, string To, DateTimeOffset At, string ModelVersion, string? MessageId);

    private sealed record ScoreDto(string LeadId, EntryDto? Previous, EntryDto Current, string? MessageId);

    private sealed record EntryDto(string LeadId, DateTimeOffset At, string[] Names, double[] Values, string? Grade, string? Stage, string ModelVersion, string? MessageId);
}
