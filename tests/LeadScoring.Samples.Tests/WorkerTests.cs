using System.Diagnostics;

namespace LeadScoring.Samples.Tests;

/// <summary>Issue 14, rows 7-9: the sample Worker says why it cannot run, in one line, with a non-zero exit code.</summary>
public sealed class WorkerTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ls-worker-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Inbox(params string[] lines)
    {
        string inbox = Path.Combine(_dir, "inbox");
        Directory.CreateDirectory(inbox);
        File.WriteAllLines(Path.Combine(inbox, "m.jsonl"), lines);
        return inbox;
    }

    /// <summary>Runs the Worker sample with <paramref name="args"/> to its exit (at most 90 s).</summary>
    internal static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Paths.WorkerDll);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment.Remove("DOTNET_ENVIRONMENT");
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("the Worker did not exit within 90 s: " + await stdout + await stderr);
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private string[] Common(string inbox, string database) =>
        ["--Worker:Folder", inbox, "--Worker:Database", database, "--Worker:Follow", "false", "--Worker:ExitWhenDrained", "true",
         "--LeadScoring:ModelPath", SampleData.ModelPath, "--LeadScoring:Workers", "1"];

    [Fact]
    public async Task A_missing_inbox_folder_is_an_error_at_start_with_exit_code_2()
    {
        var run = await RunAsync(Common(Path.Combine(_dir, "no-inbox"), Path.Combine(_dir, "leads.db")));

        run.ExitCode.Should().Be(2);
        run.Stderr.Trim().Should().Be($"worker: the inbox folder '{Path.Combine(_dir, "no-inbox")}' does not exist (Worker:Folder)");
        run.Stdout.Should().NotContain("Drained");
    }

    [Fact]
    public async Task A_lease_without_postgres_is_an_error_at_start_with_exit_code_2()
    {
        var run = await RunAsync([.. Common(Inbox(), Path.Combine(_dir, "leads.db")), "--Worker:Lease", "inbox"]);

        run.ExitCode.Should().Be(2);
        run.Stderr.Trim().Should().Be("worker: Worker:Lease needs Worker:Store=postgres (hosts share a lease in their PostgreSQL database)");
        File.Exists(Path.Combine(_dir, "leads.db")).Should().BeFalse("nothing was started");
    }

    [Fact]
    public async Task A_missing_database_folder_is_an_error_at_start_with_exit_code_2()
    {
        var run = await RunAsync(Common(Inbox(), Path.Combine(_dir, "no-such-dir", "leads.db")));

        run.ExitCode.Should().Be(2);
        run.Stderr.Should().Contain("(Worker:Database)");
    }

    [Fact]
    public async Task A_damaged_database_stops_the_worker_with_exit_code_1_and_a_one_line_reason()
    {
        string database = Path.Combine(_dir, "leads.db");
        // The first bytes of an SQLite file, then garbage: a half-written or truncated database.
        byte[] damaged = new byte[8192];
        "SQLite format 3\0"u8.CopyTo(damaged);
        new Random(7).NextBytes(damaged.AsSpan(16));
        File.WriteAllBytes(database, damaged);

        var run = await RunAsync(Common(Inbox(File.ReadLines(SampleData.MessagesPath).Take(100).ToArray()), database));

        run.ExitCode.Should().Be(1);
        var lines = run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        lines.Should().Contain(l => l.StartsWith("worker: ", StringComparison.Ordinal));
        run.Stderr.Should().NotContain("   at ", "no stack trace");
    }

    [Fact]
    public async Task The_output_is_written_for_a_model_without_a_fit_score()
    {
        string model = Path.Combine(_dir, "model.json");
        File.WriteAllText(model, """
            {"name":"m","version":"1","scores":[{"name":"engagement"}],
             "rules":[{"id":"demo","score":"engagement","points":5,"on":"Demo Requested"}]}
            """);
        string output = Path.Combine(_dir, "out.jsonl");
        string inbox = Inbox("""{"type":"track","event":"Demo Requested","userId":"u-1","messageId":"m-1","timestamp":"2026-11-01T00:00:00Z"}""");
        string[] args = [.. Common(inbox, Path.Combine(_dir, "leads.db")), "--LeadScoring:ModelPath", model, "--Worker:Output", output, "--Worker:AsOf", "2026-11-30T00:00:00Z"];

        var run = await RunAsync(args);

        run.ExitCode.Should().Be(0, run.Stderr + run.Stdout);
        File.ReadAllLines(output).Should().ContainSingle().Which.Should().Contain("\"leadId\":\"u-1\"").And.Contain("\"engagement\":5");
    }
}
