using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace LeadScoring.Tests.Shared;

/// <summary>
/// Issue 14, row 16: the same messages through the pipeline in batches of different sizes, with or without a restart,
/// and the score history they leave in a store. Shared by the in-memory (Hosting) and SQLite store tests.
/// </summary>
internal static class ScoreHistoryRuns
{
    /// <summary>A short horizon, so that leads fold their older messages during the runs.</summary>
    public static readonly TimeSpan Horizon = TimeSpan.FromDays(7);

    public static string SamplePath(string file) => Path.Combine(AppContext.BaseDirectory, "data", file);

    /// <summary>
    /// The sample's first <paramref name="count"/> messages (about three weeks), delivered locally shuffled (late
    /// messages), with every 20th delivered twice (retries): anonymous visitors who identify, merges, account messages.
    /// </summary>
    public static List<LeadMessage> Messages(int count)
    {
        var messages = MessageReader.Read(File.OpenRead(SamplePath("messages.jsonl")))
            .Select(r => r.Result.Message).OfType<LeadMessage>().Take(count).ToList();
        var delivered = messages.Select((m, i) => (m, key: i + new Random(i).Next(150))).OrderBy(x => x.key).Select(x => x.m).ToList();
        delivered.AddRange(messages.Where((_, i) => i % 20 == 0));
        return delivered;
    }

    /// <summary>
    /// A model the engine keeps in flat rows (rules on bits and counters, a grade, one stage): change tracking reads
    /// its leads' outcomes straight from their rows (<see cref="LeadScoringEngine.TryGetLatestOutcome"/>).
    /// </summary>
    public const string FlatModelJson = """
        {"name": "flat", "version": "1",
         "scores": [{"name": "fit", "max": 60}, {"name": "engagement"}, {"name": "total", "sum": {"fit": 0.5, "engagement": 1}}],
         "rules": [
           {"id": "demo", "score": "engagement", "points": 10, "on": "Demo Requested"},
           {"id": "pricing", "score": "engagement", "points": 3, "on": "$page", "when": {"field": "properties.path", "op": "startsWith", "value": "/pricing"}, "limit": {"count": 3, "perDays": 30}},
           {"id": "any-page", "score": "engagement", "points": 0.5, "on": "$page", "maxPoints": 4},
           {"id": "title", "score": "fit", "points": 20, "when": {"field": "traits.title", "op": "containsAny", "value": ["VP", "Director", "Head"]}},
           {"id": "known", "score": "fit", "points": 5, "when": {"field": "traits.email", "op": "exists"}}
         ],
         "grade": {"score": "total", "bands": [{"grade": "A", "min": 30}, {"grade": "B", "min": 12}, {"grade": "C"}]},
         "stages": [{"name": "lead"}]}
        """;

    /// <summary>
    /// Runs one pipeline (three workers) over <paramref name="messages"/> in batches of <paramref name="batchSize"/>
    /// with the store <paramref name="useStore"/> sets, and stops it once everything is committed.
    /// </summary>
    public static async Task RunAsync(IEnumerable<LeadMessage> messages, int batchSize, Action<LeadScoringBuilder> useStore, string? modelPath = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(typeof(ILogger<>), typeof(NullLogger<>));
        useStore(services.AddLeadScoring(o =>
        {
            o.ModelPath = modelPath ?? SamplePath("model.json");
            o.Workers = 3;
            o.BatchSize = batchSize;
            o.BatchDelay = TimeSpan.FromMilliseconds(5);
            o.ReorderHorizon = Horizon;
            o.DrainTimeout = TimeSpan.FromMinutes(5);
        }));
        await using var provider = services.BuildServiceProvider();
        var hosted = provider.GetServices<IHostedService>().ToList();
        foreach (var service in hosted)
        {
            await service.StartAsync(CancellationToken.None);
        }

        var writer = provider.GetRequiredService<ILeadMessageWriter>();
        foreach (var m in messages)
        {
            await writer.WriteAsync(m);
        }

        // Stopping drains the queue: every message written is committed.
        foreach (var service in hosted)
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>Every history entry of every id the messages name, by id, as text (one line each, every field).</summary>
    public static async Task<List<string>> HistoryAsync(ILeadStore store, IEnumerable<LeadMessage> messages)
    {
        var lines = new List<string>();
        foreach (var id in Ids(messages))
        {
            lines.AddRange((await store.GetHistoryAsync(id, CancellationToken.None)).Select(Line));
        }

        return lines;
    }

    /// <summary>
    /// The history as its definition has it, from one engine that keeps every message: for every lead, the lead after
    /// each instant at which it has messages, where that differs from the lead after its previous one.
    /// </summary>
    public static List<string> Expected(IEnumerable<LeadMessage> messages, string? modelPath = null)
    {
        var model = CompiledModel.Compile(ScoringModelLoader.LoadFile(modelPath ?? SamplePath("model.json")).GetModelOrThrow());
        var engine = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = null });
        foreach (var m in messages)
        {
            engine.Apply(m);
        }

        var lines = new List<string>();
        foreach (var id in Ids(messages).Where(id => engine.Contains(id) && engine.EvaluateLatest(id)!.LeadId == id))
        {
            string? previous = null;
            foreach (var step in engine.EvaluateMessageInstants(id, DateTimeOffset.MinValue, out _))
            {
                var entry = new ScoreHistoryEntry(id, step.AsOf, [.. step.ScoreNames.Select((n, i) => new KeyValuePair<string, double>(n, step.ValueAt(i)))],
                    step.Grade, step.Stage, step.ModelVersion, step.LatestMessageId);
                if (Outcome(entry) != previous)
                {
                    lines.Add(Line(entry));
                    previous = Outcome(entry);
                }
            }
        }

        return lines;
    }

    /// <summary>The first line where <paramref name="actual"/> and <paramref name="expected"/> differ, or null (the lists are long).</summary>
    public static string? FirstDifference(List<string> actual, List<string> expected)
    {
        for (int i = 0; i < Math.Max(actual.Count, expected.Count); i++)
        {
            string? a = i < actual.Count ? actual[i] : null, e = i < expected.Count ? expected[i] : null;
            if (a != e)
            {
                return $"entry {i} of {expected.Count} (actual {actual.Count}) differs:\nexpected {e ?? "(none)"}\nactual   {a ?? "(none)"}";
            }
        }

        return null;
    }

    private static IEnumerable<string> Ids(IEnumerable<LeadMessage> messages) =>
        messages.SelectMany(m => new[] { m.UserId, m.AnonymousId, m.PreviousId }).OfType<string>().Distinct().Order(StringComparer.Ordinal);

    /// <summary>lead|at|outcome|model version|message id.</summary>
    private static string Line(ScoreHistoryEntry e) => $"{e.LeadId}|{e.At.UtcTicks}|{Outcome(e)}|{e.ModelVersion}|{e.MessageId}";

    /// <summary>Scores (every bit: round-trip format), grade and stage: what the pipeline compares.</summary>
    private static string Outcome(ScoreHistoryEntry e) =>
        $"{string.Join(",", e.Scores.Select(s => $"{s.Key}={s.Value:R}"))}|{e.Grade}|{e.Stage}";
}
