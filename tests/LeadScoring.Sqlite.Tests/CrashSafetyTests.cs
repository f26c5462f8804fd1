using LeadScoring.Tests.Shared;
using System.Diagnostics;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;
using LeadScoring.Output;
using Xunit.Abstractions;

namespace LeadScoring.Sqlite.Tests;

/// <summary>
/// The Worker sample (folder source, SQLite store, pipeline) killed abruptly at random points and restarted ends
/// exactly like an uninterrupted run: no message lost or counted twice, the same score history, every stage move told
/// (at least once).
/// </summary>
[Collection("Timing")]
public class CrashSafetyTests(ITestOutputHelper output)
{
    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LeadScoring.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("repository root not found");
    }

    private static string WorkerDll()
    {
        // Same configuration as this test assembly (bin/<Configuration>/net10.0).
        string configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        string dll = Path.Combine(Root, "samples", "Worker", "bin", configuration, "net10.0", "Worker.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException("build samples/Worker first", dll);
    }

    private static Process Start(string work, string database, bool follow, string keys, string? outputFile)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = work,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            WorkerDll(), "--Worker:Folder", "inbox", "--Worker:Database", database, "--Worker:Follow", follow ? "true" : "false",
            "--Worker:ExitWhenDrained", follow ? "false" : "true", "--Worker:HandlerLog", keys, "--Worker:AsOf", "2026-11-30T00:00:00Z",
            "--LeadScoring:ModelPath", Path.Combine(Root, "samples", "data", "model.json"), "--LeadScoring:BatchSize", "500",
            "--LeadScoring:BatchDelay", "00:00:00.020", "--Logging:LogLevel:Default", "Warning",
            // Lead states every 3,000 messages (issue 13): the kills land between state checkpoints, so a restart loads
            // the states of the last one and replays the message log after it.
            "--LeadScoring:StateCheckpointMessages", "3000",
        })
        {
            info.ArgumentList.Add(arg);
        }

        if (outputFile is not null)
        {
            info.ArgumentList.Add("--Worker:Output");
            info.ArgumentList.Add(outputFile);
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task RunToEndAsync(string work, string database, string keys, string outputFile)
    {
        using var process = Start(work, database, follow: false, keys, outputFile);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        process.ExitCode.Should().Be(0);
    }

    private static async Task<int> CountMessagesAsync(string database)
    {
        await using var store = new SqliteLeadStore(new SqliteLeadStoreOptions { ConnectionString = $"Data Source={database}" });
        await store.InitializeAsync(default);
        int n = 0;
        await foreach (var _ in store.LoggedMessagesAsync(default))
        {
            n++;
        }

        return n;
    }

    /// <summary>The log position the stored states are as of, and the last logged batch's.</summary>
    private static async Task<(long States, long End)> PositionsAsync(string database)
    {
        await using var store = new SqliteLeadStore(new SqliteLeadStoreOptions { ConnectionString = $"Data Source={database}" });
        await store.InitializeAsync(default);
        long end = 0;
        await foreach (var (position, _) in store.ReadLogAsync(0, default))
        {
            end = position;
        }

        return (await store.GetStatePositionAsync(default), end);
    }

    /// <summary>
    /// <see cref="PositionsAsync"/> read with plain SQL while a Worker writes the database (no store opened, so no
    /// migration); null while the database or its tables do not exist yet or it is busy.
    /// </summary>
    private static (long States, long End)? LivePositions(string database)
    {
        if (!File.Exists(database))
        {
            return null;
        }

        try
        {
            using var connection = StoreKit.Raw(database);
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT (SELECT value FROM meta WHERE key = 'state_position'), (SELECT max(seq) FROM message_log);";
            using var reader = command.ExecuteReader();
            reader.Read();
            long states = reader.IsDBNull(0) ? 0 : long.Parse(reader.GetString(0), System.Globalization.CultureInfo.InvariantCulture);
            long end = reader.IsDBNull(1) ? 0 : reader.GetInt64(1);
            return (states, end);
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return null;
        }
    }

    /// <summary>Every score history entry in the database, one line each, by lead and time.</summary>
    private static List<string> HistoryRows(string database)
    {
        using var connection = StoreKit.Raw(database);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT lead_id, at, scores, grade, stage, model_version, message_id FROM score_history ORDER BY lead_id, at, id;";
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        }

        return rows;
    }

    [Fact]
    public async Task WorkerKilledAtRandomPoints_ThenRestarted_EndsIdenticalToAnUninterruptedRun()
    {
        string work = Directory.CreateTempSubdirectory("ls-crash-").FullName;
        string inbox = Directory.CreateDirectory(Path.Combine(work, "inbox")).FullName;
        var lines = File.ReadAllLines(Path.Combine(Root, "samples", "data", "messages.jsonl"));
        int third = lines.Length / 3;
        File.WriteAllLines(Path.Combine(inbox, "a.jsonl"), lines.Take(third));
        File.WriteAllLines(Path.Combine(inbox, "b.jsonl"), lines.Skip(third).Take(third));
        File.WriteAllLines(Path.Combine(inbox, "c.jsonl"), lines.Skip(2 * third));

        // The reference: one uninterrupted run.
        await RunToEndAsync(work, "calm.db", "calm-keys.txt", Path.Combine(work, "calm.jsonl"));

        // The same input, killed (not cancelled: the process is killed) at random moments, then run to the end.
        var random = new Random(20261129);
        int betweenCheckpoints = 0;
        for (int i = 0; i < 4; i++)
        {
            using var process = Start(work, "crashy.db", follow: true, "crashy-keys.txt", null);
            await Task.Delay(random.Next(1_500, 6_000));
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            output.WriteLine($"kill {i + 1}: {(File.Exists(Path.Combine(work, "crashy.db")) ? await CountMessagesAsync(Path.Combine(work, "crashy.db")) : 0)} messages committed");
            if (File.Exists(Path.Combine(work, "crashy.db")))
            {
                var (states, end) = await PositionsAsync(Path.Combine(work, "crashy.db"));
                output.WriteLine($"  states as of log position {states}, log end {end}");
                betweenCheckpoints += states > 0 && states < end ? 1 : 0;
            }
        }

        // Under heavy load every random moment can fall before the first state checkpoint: then one more kill, as soon as
        // the database shows batches logged after a state checkpoint (read while the Worker writes, not timed).
        for (int extra = 0; betweenCheckpoints == 0 && extra < 3; extra++)
        {
            using var process = Start(work, "crashy.db", follow: true, "crashy-keys.txt", null);
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (!process.HasExited && waited.Elapsed < TimeSpan.FromSeconds(90))
            {
                if (LivePositions(Path.Combine(work, "crashy.db")) is { } live && live.States > 0 && live.States < live.End)
                {
                    break;
                }

                await Task.Delay(10);
            }

            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            var (states, end) = await PositionsAsync(Path.Combine(work, "crashy.db"));
            output.WriteLine($"extra kill {extra + 1}: states as of log position {states}, log end {end}");
            betweenCheckpoints += states > 0 && states < end ? 1 : 0;
        }

        await RunToEndAsync(work, "crashy.db", "crashy-keys.txt", Path.Combine(work, "crashy.jsonl"));
        betweenCheckpoints.Should().BeGreaterThan(0, "some kill landed after a state checkpoint, with batches logged after it");

        var calm = File.ReadAllLines(Path.Combine(work, "calm.jsonl"));
        var crashy = File.ReadAllLines(Path.Combine(work, "crashy.jsonl"));
        crashy.Should().Equal(calm, "a crashed and restarted run ends exactly like an uninterrupted one");

        // And both are the contract's answer for these messages.
        var model = CompiledModel.Compile(ScoringModelLoader.LoadFile(Path.Combine(Root, "samples", "data", "model.json")).GetModelOrThrow());
        var messages = lines.Select(l => MessageParser.Parse(l).Message).OfType<LeadMessage>();
        calm.Should().Equal(LeadScoring.Tests.Shared.SortedScoring.Score(model, messages, new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero), explain: true).Select(LeadResultJson.ToJson));

        // Nothing lost, nothing counted twice.
        (await CountMessagesAsync(Path.Combine(work, "crashy.db"))).Should().Be(await CountMessagesAsync(Path.Combine(work, "calm.db")));

        // The same score history, entry for entry (issue 14, row 16: it once had one entry per batch, so where the kills
        // cut the batches showed: 3,721 entries against 3,707).
        var calmHistory = HistoryRows(Path.Combine(work, "calm.db"));
        var crashyHistory = HistoryRows(Path.Combine(work, "crashy.db"));
        calmHistory.Should().NotBeEmpty();
        crashyHistory.Should().HaveCount(calmHistory.Count).And.Equal(calmHistory);
        output.WriteLine($"{calmHistory.Count} score history entries in both runs");

        // Every stage move of the final histories up to each lead's latest message was told, in both runs; keys make
        // re-tellings after a crash harmless. (A run may also tell a move that a late message later revised: what was
        // known at the time.) Moves the stage clock makes in silence after a lead's latest message, and the
        // re-evaluation at the as-of time, reach no handler: no message brings them to the pipeline.
        var latest = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = null });
        foreach (var m in lines.Select(l => MessageParser.Parse(l).Message).OfType<LeadMessage>())
        {
            latest.Apply(m);
        }

        var finalMoves = calm.SelectMany(line =>
        {
            string lead = System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("leadId").GetString()!;
            return latest.EvaluateLatest(lead)!.StageHistory
                .Select(h => new Hosting.StageChangedArguments(lead, h.From, h.To, h.At, "2026.11.1", null).IdempotencyKey);
        }).ToList();
        var calmKeys = File.ReadAllLines(Path.Combine(work, "calm-keys.txt"));
        var crashyKeys = File.ReadAllLines(Path.Combine(work, "crashy-keys.txt"));
        finalMoves.Should().NotBeEmpty();
        calmKeys.Should().OnlyHaveUniqueItems("an uninterrupted run tells each move once").And.Contain(finalMoves);
        crashyKeys.Distinct().Should().Contain(finalMoves, "no committed move is lost to a crash (the outbox delivers it after restart)");
        output.WriteLine($"{finalMoves.Count} final stage moves; calm run told {calmKeys.Length}, crashy run {crashyKeys.Length} ({crashyKeys.Length - crashyKeys.Distinct().Count()} again after a crash)");
    }
}
