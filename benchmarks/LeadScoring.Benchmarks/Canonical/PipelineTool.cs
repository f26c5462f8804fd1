using System.Diagnostics;
using System.Globalization;
using LeadScoring.Hosting;
using LeadScoring.PostgreSql;
using LeadScoring.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// <c>pipeline</c>: the whole pipeline in one run, the quick counterpart of <see cref="PipelineBenchmarks"/> for the
/// full canonical workload (1,100,000 messages): a generic host with <c>AddLeadScoring</c> (the §6 model, default
/// options unless given), a <see cref="JsonLinesFolderSource"/> on messages.jsonl that does not follow, and a store
/// (<c>memory</c>, <c>sqlite</c> into a fresh file, <c>postgres</c> into a fresh database on the server of
/// <c>LEADSCORING_BENCH_POSTGRES</c> or <c>LEADSCORING_TEST_POSTGRES</c>). Timed: from the host's start until every
/// message is committed. Then the §7 row is checked on every lead read back through <see cref="ILeadScoreReader"/>.
/// <code>pipeline [--store memory|sqlite|postgres]... [--events N] [--batch-size N] [--workers N] [--repeat N] [--horizon none|DAYS] [--history log|memory|default] [--gc server|workstation] [--call-counting-delay MS] [--allocations] [--bench PATH/leadscore.dll]</code>
/// With <c>--repeat N</c> (N &gt; 1) it ends with a summary per store: the first run (the process's JIT still compiling
/// and tiering up, the heap still growing) and the median of the later ones (steady state), each run into a fresh
/// file or database. With <c>--bench</c> it also runs <c>leadscore bench</c> (that build of the command-line tool, in a
/// process of its own) on the same messages.jsonl, before the pipelines, and gives each store's ratio to it.
/// The garbage collector is the Worker sample's (and ASP.NET Core's): server, unless <c>--gc workstation</c>. The
/// collector is chosen when a process starts, so the tool runs itself again with <c>DOTNET_gcServer</c> set when the
/// one asked for is not the one it runs with.
/// The tiered compiler's call-counting delay is the Worker sample's too: 0 ms (<c>Worker.csproj</c> and this project set
/// <c>System.Runtime.TieredCompilation.CallCountingDelayMs</c>); <c>--call-counting-delay 100</c> runs with the runtime's
/// default (the tool runs itself again with <c>DOTNET_TC_CallCountingDelayMs</c> set, which overrides the setting).
/// </summary>
public static class PipelineTool
{
    public static int Run(string[] args)
    {
        var stores = new List<string>();
        int events = CanonicalWorkload.EventCount, repeat = 1;
        TimeSpan? horizon = TimeSpan.FromDays(30);
        bool? history = null;
        int? batchSize = null, workers = null;
        bool allocations = false, serverGC = true;
        int callCountingDelay = WorkerCallCountingDelay;
        string? bench = null;
        for (int i = 0; i < args.Length; i++)
        {
            if (args[i] == "--allocations")
            {
                allocations = true;
                continue;
            }

            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"pipeline: {args[i]} needs a value");
            switch (args[i])
            {
                case "--store": stores.Add(value); break;
                case "--bench": bench = File.Exists(value) ? Path.GetFullPath(value) : throw new ArgumentException($"pipeline: --bench {value}: no such file (the command-line tool's leadscore.dll)"); break;
                case "--events": events = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--batch-size": batchSize = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--workers": workers = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--repeat": repeat = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--horizon": horizon = value == "none" ? null : TimeSpan.FromDays(double.Parse(value, CultureInfo.InvariantCulture)); break;
                case "--gc": serverGC = value switch { "server" => true, "workstation" => false, _ => throw new ArgumentException($"pipeline: --gc is server or workstation, not '{value}'") }; break;
                case "--call-counting-delay": callCountingDelay = int.Parse(value, CultureInfo.InvariantCulture); break;
                case "--history": history = value switch { "log" => false, "memory" => true, "default" => null, _ => throw new ArgumentException($"pipeline: --history is log, memory or default, not '{value}'") }; break;
                default: throw new ArgumentException($"pipeline: unknown option {args[i]}");
            }

            i++;
        }

        if (stores.Count == 0)
        {
            stores.AddRange(["memory", "sqlite"]);
        }

        if (System.Runtime.GCSettings.IsServerGC != serverGC || CallCountingDelay() != callCountingDelay)
        {
            if (Environment.GetEnvironmentVariable(RestartedVariable) is null)
            {
                return RunAgain(serverGC, callCountingDelay);
            }

            // Started again and still not the collector asked for (server GC on one core is workstation GC): say so, go on.
            if (System.Runtime.GCSettings.IsServerGC != serverGC)
            {
                Console.Error.WriteLine($"pipeline: the runtime would not run the {(serverGC ? "server" : "workstation")} collector; running with the other");
            }
        }

        var workload = CanonicalWorkload.Generate(events);
        string root = Directory.CreateTempSubdirectory("leadscoring-pipeline-tool-").FullName;
        try
        {
            string inbox = Directory.CreateDirectory(Path.Combine(root, "inbox")).FullName;
            File.WriteAllBytes(Path.Combine(inbox, "messages.jsonl"), CanonicalJson.Build(workload, events));
            int messages = CanonicalWorkload.LeadCount + events;
            Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC, call-counting delay {CallCountingDelay()} ms, load average {LoadAverage()}; {messages:N0} messages");
            double? benchRate = bench is null ? null : RunBench(bench, root, Path.Combine(inbox, "messages.jsonl"));
            Console.WriteLine("| store | run | host | wall | msgs/s | CPU (user+sys) | batches | allocated | GCs (0/1/2) | GC pause | heap after drain | peak RSS |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            var rates = stores.Distinct().ToDictionary(s => s, _ => new List<double>());
            for (int r = 1; r <= repeat; r++)
            {
                foreach (string store in stores)
                {
                    rates[store].Add(RunOnce(store, r, workload, events, root, inbox, batchSize, workers, allocations, horizon, history));
                }
            }

            Summarize(rates, benchRate);

            Console.WriteLine($"load average after: {LoadAverage()}");
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // A temporary folder left behind is harmless.
            }
        }
    }

    /// <summary>
    /// Runs <c>leadscore bench</c> (<paramref name="cli"/>) on <paramref name="messages"/> with the §6 model and the
    /// workload's as-of time, echoes its throughput line and returns its messages/s (parse + score).
    /// </summary>
    private static double RunBench(string cli, string root, string messages)
    {
        string model = Path.Combine(root, "model.json");
        File.WriteAllText(model, CanonicalWorkload.ModelJson);
        var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false, RedirectStandardOutput = true };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) != "dotnet")
        {
            start.FileName = "dotnet";
        }

        foreach (string arg in (string[])[cli, "bench", "--model", model, "--events", messages, "--as-of", CanonicalWorkload.AsOf.ToString("O", CultureInfo.InvariantCulture)])
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("DOTNET_gcServer");   // the tool's own collector, as a user runs it
        start.Environment.Remove("DOTNET_TC_CallCountingDelayMs");
        using var child = Process.Start(start) ?? throw new InvalidOperationException("pipeline: could not start " + cli);
        string output = child.StandardOutput.ReadToEnd();
        child.WaitForExit();
        string? line = output.Split('\n').FirstOrDefault(l => l.StartsWith("throughput: ", StringComparison.Ordinal));
        if (child.ExitCode != 0 || line is null)
        {
            throw new InvalidOperationException($"pipeline: leadscore bench exited with {child.ExitCode}:\n{output}");
        }

        Console.WriteLine("leadscore bench, same messages.jsonl: " + line.Trim());
        return double.Parse(line["throughput: ".Length..].Split(' ')[0], CultureInfo.InvariantCulture);
    }

    /// <summary>Per store: the first run, the median of the later runs, and each one's ratio to <c>leadscore bench</c>.</summary>
    private static void Summarize(Dictionary<string, List<double>> rates, double? bench)
    {
        foreach (var (store, runs) in rates)
        {
            string Ratio(double rate) => bench is { } b ? string.Create(CultureInfo.InvariantCulture, $" ({b / rate:F1}× under leadscore bench)") : "";
            var text = string.Create(CultureInfo.InvariantCulture, $"summary {store}: run 1 (cold) {runs[0]:N0} msgs/s{Ratio(runs[0])}");
            if (runs.Count > 1)
            {
                var later = runs.Skip(1).Order().ToArray();
                double median = later.Length % 2 == 1 ? later[later.Length / 2] : (later[later.Length / 2 - 1] + later[later.Length / 2]) / 2;
                text += runs.Count == 2
                    ? string.Create(CultureInfo.InvariantCulture, $"; run 2 (warm) {median:N0} msgs/s{Ratio(median)}")
                    : string.Create(CultureInfo.InvariantCulture, $"; runs 2–{runs.Count} (warm) median {median:N0} msgs/s{Ratio(median)}, from {later[0]:N0} to {later[^1]:N0}");
            }

            Console.WriteLine(text);
        }
    }

    /// <summary>One run of the pipeline into <paramref name="store"/>; returns its messages/s.</summary>
    private static double RunOnce(string store, int run, CanonicalWorkload workload, int events, string root, string inbox, int? batchSize, int? workers, bool allocations, TimeSpan? horizon, bool? history)
    {
        int messages = CanonicalWorkload.LeadCount + events;
        string folder = Directory.CreateDirectory(Path.Combine(root, $"{store}-{run}")).FullName;
        string? database = null;
        double rate;
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = folder });
        builder.Logging.ClearProviders();
        var scoring = builder.Services
            .AddLeadScoring(o =>
            {
                o.ModelJson = CanonicalWorkload.ModelJson;
                o.BatchSize = batchSize ?? o.BatchSize;
                o.Workers = workers ?? o.Workers;
                o.ReorderHorizon = horizon;
                o.KeepMessagesInMemory = history;
            })
            .AddJsonLinesFolder(inbox, f => f.Follow = false);
        switch (store)
        {
            case "memory":
                break;
            case "sqlite":
                scoring.UseSqlite($"Data Source={Path.Combine(folder, "leads.db")}");
                break;
            case "postgres":
                database = PostgreSqlDatabases.Create();
                scoring.UsePostgreSql(database);
                break;
            default:
                throw new ArgumentException($"pipeline: --store is memory, sqlite or postgres, not '{store}'");
        }

        using (var host = builder.Build())
        {
            double capacity = HostCapacity.Measure();
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var status = host.Services.GetRequiredService<LeadScoringStatus>();
            var stopping = host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
            var process = Process.GetCurrentProcess();
            var cpu = process.TotalProcessorTime;
            long allocated = GC.GetTotalAllocatedBytes();
            int gen0 = GC.CollectionCount(0), gen1 = GC.CollectionCount(1), gen2 = GC.CollectionCount(2);
            var paused = GC.GetTotalPauseDuration();
            using var sampler = allocations ? new AllocationSampler() : null;
            sampler?.Start();
            var clock = Stopwatch.StartNew();
            host.StartAsync().GetAwaiter().GetResult();
            while (!(status.IsDrained && status.CommittedMessages + status.RejectedMessages >= messages))
            {
                if (status.Fault is { } fault)
                {
                    throw new InvalidOperationException("pipeline: " + fault);
                }

                if (stopping.IsCancellationRequested)
                {
                    // SIGTERM or Ctrl+C: the host's console lifetime took the signal and waits for a shutdown; end here
                    // (a run that waited on for ever kept a core busy unseen).
                    Console.Error.WriteLine("pipeline: stopped by a signal");
                    Environment.Exit(130);
                }

                Thread.Sleep(5);
            }

            var wall = clock.Elapsed;
            sampler?.Stop();
            process.Refresh();
            var used = process.TotalProcessorTime - cpu;
            var gcs = $"{GC.CollectionCount(0) - gen0}/{GC.CollectionCount(1) - gen1}/{GC.CollectionCount(2) - gen2}";
            var pause = GC.GetTotalPauseDuration() - paused;
            long allocatedBytes = GC.GetTotalAllocatedBytes() - allocated;

            // What the drained pipeline keeps (engines, their replay history, caches): the managed heap after a full
            // collection, and the process's peak resident set (the workload's own text and messages included).
            long heap = GC.GetTotalMemory(forceFullCollection: true);
            process.Refresh();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {store} | {run} | {capacity:F2}× | {wall.TotalSeconds:F2} s | {messages / wall.TotalSeconds:N0} | {used.TotalSeconds:F1} s | {status.Batches:N0} | {allocatedBytes / (1024.0 * 1024):N0} MiB | {gcs} | {pause.TotalSeconds:F2} s | {heap / (1024.0 * 1024):N0} MiB | {process.PeakWorkingSet64 / (1024.0 * 1024):N0} MiB |"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  replay history: {status.HistoryLogReads:N0} message-log batches read back from the store"));
            host.StopAsync().GetAwaiter().GetResult();
            sampler?.Report(Console.Out, messages);
            if (status.CommittedMessages != messages || status.RejectedMessages != 0)
            {
                throw new InvalidOperationException($"pipeline: {status.CommittedMessages} messages committed and {status.RejectedMessages} rejected; expected {messages} and 0");
            }

            var reader = host.Services.GetRequiredService<ILeadScoreReader>();
            var totals = new int[CanonicalWorkload.LeadCount];
            for (int i = 0; i < totals.Length; i++)
            {
                var lead = reader.GetLeadAsync(workload.UserIds[i], CanonicalWorkload.AsOf).AsTask().GetAwaiter().GetResult()
                    ?? throw new InvalidOperationException($"pipeline: lead {workload.UserIds[i]} unknown");
                totals[i] = checked((int)lead["total"]);
            }

            CanonicalWorkload.Check($"{store} pipeline, run {run}", events, CanonicalWorkload.Describe(totals));
            rate = messages / wall.TotalSeconds;
        }

        if (database is not null)
        {
            PostgreSqlDatabases.Drop(database);
        }

        return rate;
    }

    /// <summary>Set in the process <see cref="RunAgain"/> starts: it is not started again, whatever collector and call-counting delay it got.</summary>
    private const string RestartedVariable = "LEADSCORING_PIPELINE_GC_RESTARTED";

    /// <summary>The call-counting delay <c>samples/Worker</c> runs with (its <c>Worker.csproj</c>; this project's too), in milliseconds.</summary>
    private const int WorkerCallCountingDelay = 0;

    /// <summary>
    /// The tiered compiler's call-counting delay this process runs with, in milliseconds: the environment's
    /// <c>DOTNET_TC_CallCountingDelayMs</c> (hexadecimal with or without <c>0x</c>, as the runtime reads it), else the
    /// runtimeconfig.json setting, else the runtime's default, 100.
    /// </summary>
    private static int CallCountingDelay()
    {
        if (Environment.GetEnvironmentVariable("DOTNET_TC_CallCountingDelayMs") is { } variable)
        {
            string digits = variable.Trim();
            digits = digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase) ? digits[2..] : digits;
            return int.TryParse(digits, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int delay)
                ? delay
                : throw new ArgumentException($"pipeline: DOTNET_TC_CallCountingDelayMs is '{variable}', not a hexadecimal number of milliseconds");
        }

        return AppContext.GetData("System.Runtime.TieredCompilation.CallCountingDelayMs") is string setting
            ? int.Parse(setting, CultureInfo.InvariantCulture)
            : 100;
    }

    /// <summary>Runs this command again in a process started with the garbage collector and call-counting delay asked for; returns its exit code.</summary>
    private static int RunAgain(bool serverGC, int callCountingDelay)
    {
        var start = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            start.ArgumentList.Add(typeof(PipelineTool).Assembly.Location);   // run as `dotnet LeadScoring.Benchmarks.dll ...`
        }

        foreach (string arg in Environment.GetCommandLineArgs().Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_gcServer"] = serverGC ? "1" : "0";
        start.Environment["DOTNET_TC_CallCountingDelayMs"] = callCountingDelay.ToString("X", CultureInfo.InvariantCulture);
        start.Environment[RestartedVariable] = "1";
        using var child = Process.Start(start) ?? throw new InvalidOperationException("pipeline: could not start " + start.FileName);
        child.WaitForExit();
        return child.ExitCode;
    }

    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}

/// <summary>
/// How much of two cores the host gives right now: the work two threads do at once, in units of what one thread alone
/// does in the same time (2.00: two free cores; 1.00: one core's worth shared by both). On a shared virtual machine it
/// moves from minute to minute (1.1–1.7 seen on the development machine within an hour, 2026-12-04), and a pipeline
/// that keeps two threads busy moves with it, so each run's row shows it, measured just before the run.
/// </summary>
internal static class HostCapacity
{
    private static readonly TimeSpan Span = TimeSpan.FromMilliseconds(300);

    public static double Measure()
    {
        if (Environment.ProcessorCount < 2)
        {
            return 1.0;
        }

        Spin(1);   // warm up the loop's code
        double one = Spin(1);
        double two = Spin(2);
        return one > 0 ? two / one : double.NaN;
    }

    /// <summary>Runs <paramref name="threads"/> threads of integer work for <see cref="Span"/>; returns their total iterations.</summary>
    private static double Spin(int threads)
    {
        var counts = new long[threads];
        var workers = new Thread[threads];
        using var start = new ManualResetEventSlim();
        for (int t = 0; t < threads; t++)
        {
            int index = t;
            workers[t] = new Thread(() =>
            {
                start.Wait();
                var clock = Stopwatch.StartNew();
                ulong x = 88172645463325252UL + (ulong)index;
                long n = 0;
                while (clock.Elapsed < Span)
                {
                    for (int i = 0; i < 4096; i++)
                    {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                    }

                    n += 4096;
                }

                counts[index] = n + (long)(x & 1);
            }) { IsBackground = true };
            workers[t].Start();
        }

        start.Set();
        foreach (var w in workers)
        {
            w.Join();
        }

        return counts.Sum();
    }
}

/// <summary>Throwaway PostgreSQL databases for the pipeline benchmarks, on the server of <c>LEADSCORING_BENCH_POSTGRES</c> (else <c>LEADSCORING_TEST_POSTGRES</c>).</summary>
internal static class PostgreSqlDatabases
{
    /// <summary>The server, as an Npgsql connection string of a user that may create databases.</summary>
    private static string Server =>
        Environment.GetEnvironmentVariable("LEADSCORING_BENCH_POSTGRES") is { Length: > 0 } bench ? bench
        : Environment.GetEnvironmentVariable("LEADSCORING_TEST_POSTGRES") is { Length: > 0 } test ? test
        : throw new InvalidOperationException("the PostgreSQL pipeline needs LEADSCORING_BENCH_POSTGRES (or LEADSCORING_TEST_POSTGRES): an Npgsql connection string; scripts/pg-test-cluster.sh starts a server.");

    /// <summary>Creates a new, empty database and returns its connection string.</summary>
    public static string Create()
    {
        string name = "leadscoring_bench_" + Guid.NewGuid().ToString("N");
        Execute(Server, $"CREATE DATABASE {name};");
        return new Npgsql.NpgsqlConnectionStringBuilder(Server) { Database = name }.ConnectionString;
    }

    /// <summary>Drops a database made by <see cref="Create"/>.</summary>
    public static void Drop(string connectionString)
    {
        Npgsql.NpgsqlConnection.ClearAllPools();
        string name = new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Database!;
        Execute(Server, $"DROP DATABASE IF EXISTS {name} WITH (FORCE);");
    }

    private static void Execute(string connectionString, string sql)
    {
        using var connection = new Npgsql.NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new Npgsql.NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }
}
