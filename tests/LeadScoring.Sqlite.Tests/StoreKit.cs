using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Model;
using LeadScoring.Output;
using Microsoft.Data.Sqlite;

namespace LeadScoring.Sqlite.Tests;

/// <summary>A folder under the temp directory, deleted with its databases at the end of a test.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "leadscoring-sqlite-" + Guid.NewGuid().ToString("N"));

    public string File(string name = "leads.db") => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Stores, engines and batches for the tests.</summary>
internal static class StoreKit
{
    public static readonly DateTimeOffset T0 = new(2026, 10, 1, 9, 0, 0, TimeSpan.Zero);

    public static string SamplePath(string file) => Path.Combine(AppContext.BaseDirectory, "data", file);

    public static CompiledModel Model { get; } =
        CompiledModel.Compile(ScoringModelLoader.Load(File.ReadAllText(SamplePath("model.json"))).GetModelOrThrow());

    public static async Task<SqliteLeadStore> OpenAsync(string path, Action<SqliteLeadStoreOptions>? configure = null, int? historyMergeRows = null, long? checkpointPages = null)
    {
        var options = new SqliteLeadStoreOptions { ConnectionString = "Data Source=" + path };
        configure?.Invoke(options);
        var store = new SqliteLeadStore(options);
        if (historyMergeRows is { } rows)
        {
            store.HistoryMergeRows = rows;
        }

        store.CheckpointPages = checkpointPages;

        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    /// <summary>A raw connection to look at the file as SQLite sees it.</summary>
    public static SqliteConnection Raw(string path)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    public static List<LeadMessage> SampleMessages() =>
        MessageReader.Read(File.OpenRead(SamplePath("messages.jsonl")))
            .Where(r => r.Result.Message is not null)
            .Select(r => r.Result.Message!)
            .ToList();

    /// <summary>
    /// Messages of two leads and an account: u1 (anonymous first, then aliased; traits, nested values, odd text),
    /// u2 (over five days with a one-day horizon, so its journal starts from a base state).
    /// </summary>
    public static List<LeadMessage> Messages()
    {
        var traits = new Dictionary<string, object?>
        {
            ["title"] = "VP Marketing",
            ["employees"] = 1200,
            ["email"] = "ana@acme.example",
            ["company"] = "Acme",
            ["phone"] = "+1 (555) 010-2000",
            ["tags"] = new object?[] { "a", 2.5, true, null },
            ["address"] = new Dictionary<string, object?> { ["city"] = "Zürich", ["zip"] = "8001" },
        };
        var list = new List<LeadMessage>
        {
            LeadMessage.Page("p-0", "anon-1", T0, new Dictionary<string, object?> { ["path"] = "/pricing", ["title"] = "Pricing \"quoted\"\nsecond line \u00e9 \U0001F600" }),
            LeadMessage.Alias("a-1", "u1", "anon-1", T0.AddMinutes(1)),
            LeadMessage.Identify("i-1", "u1", T0.AddMinutes(2), traits),
            LeadMessage.Group("g-1", "u1", "acct-1", T0.AddMinutes(3), new Dictionary<string, object?> { ["industry"] = "software", ["plan"] = "enterprise" }),
            LeadMessage.Track("t-1", "u1", "Demo Requested", T0.AddMinutes(4), new Dictionary<string, object?> { ["seats"] = 12, ["ratio"] = 0.1 }),
            LeadMessage.Track("t-2", "u1", "Feature Used", T0.AddMinutes(5).AddTicks(1234567), new Dictionary<string, object?> { ["seats"] = 7, ["feature"] = "reports" }),
        };
        for (int day = 0; day < 5; day++)
        {
            list.Add(LeadMessage.Page($"u2-p-{day}", "u2", T0.AddDays(day), new Dictionary<string, object?> { ["path"] = "/docs/start" }));
            list.Add(LeadMessage.Track($"u2-t-{day}", "u2", "Email Opened", T0.AddDays(day).AddHours(1), new Dictionary<string, object?> { ["emailId"] = "e" + day }));
        }

        return list;
    }

    public static LeadScoringEngine Engine(IEnumerable<LeadMessage> messages)
    {
        var engine = new LeadScoringEngine(Model, new LeadScoringEngineOptions { ReorderHorizon = TimeSpan.FromDays(1) });
        foreach (var m in messages)
        {
            engine.Apply(m);
        }

        return engine;
    }

    /// <summary>
    /// A snapshot as comparable text: id, ids, state, base state and journal JSON. An empty base state is no base
    /// (<see cref="LeadSnapshot.Create"/> reads it so; <c>ExportLead</c> gives an empty one for a lead without base).
    /// </summary>
    /// <summary>
    /// A lead's stored parts. The journal is left out: the store reads it back from the message log (every message
    /// of the lead's ids), which ImportLead trims to the journal; AnEngineRestoredFromTheStore_GoesOnExactlyLikeTheOriginal
    /// proves that end to end.
    /// </summary>
    public static string Describe(LeadSnapshot s) =>
        string.Join(" | ",
            s.LeadId,
            string.Join(",", s.Ids),
            Convert.ToHexString(s.State.Span),
            s.BaseState is { IsEmpty: false } b ? Convert.ToHexString(b.Span) : "<null>");

    public static async Task<List<T>> ToListAsync<T>(IAsyncEnumerable<T> items)
    {
        var list = new List<T>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }

    public static async Task<List<string>> LeadsAsync(ILeadStore store) =>
        (await ToListAsync(store.LoadLeadsAsync(CancellationToken.None))).Select(Describe).Order(StringComparer.Ordinal).ToList();

    public static string Output(LeadScoringEngine engine, DateTimeOffset asOf) =>
        string.Join("\n", engine.EvaluateAll(asOf, explain: true).Select(LeadResultJson.ToJson));

    public static ScoreHistoryEntry History(string leadId, DateTimeOffset at, double fit, string? grade = "B", string? stage = "mql", string? messageId = "m") =>
        new(leadId, at, [new("fit", fit), new("engagement", 0.1 + 0.2), new("intent", -0.0), new("total", 1e-300)], grade, stage, "2026.11.1", messageId);
}
