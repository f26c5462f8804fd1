using BenchmarkDotNet.Attributes;
using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.PostgreSql;
using LeadScoring.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// The embedding's pipeline end to end (LeadScoring.Hosting + LeadScoring.Sqlite), as <c>samples/Worker</c> runs it:
/// a generic host with <c>AddLeadScoring</c> (the §6 model as <c>ModelJson</c>, every other option at its default:
/// 2 workers on this machine, batches of 2,000, 30-day reorder horizon), a <see cref="JsonLinesFolderSource"/> that
/// does not follow, and a store. Figures per message (OperationsPerInvoke = 200,000); <c>Msgs/s (median)</c> is the
/// throughput. Job: <see cref="PipelineConfig"/> (the §9 job with 3 measured iterations: one lasts 10-20 s).
/// <para>Outside the timed region: messages.jsonl for the first 100,000 events (200,000 lines, §3) written once into a
/// temporary folder; before each iteration a host built on a fresh SQLite file in a new temporary folder.
/// Timed: start the host, wait until the source has ended and every message is committed
/// (<see cref="LeadScoringStatus.IsDrained"/> with 200,000 committed, polled every 10 ms), stop the host.</para>
/// <list type="bullet">
/// <item><b>Sqlite</b>: <c>UseSqlite("Data Source=…")</c> with its defaults (WAL, synchronous NORMAL). After the
/// runs the last iteration's file is opened again with a new <see cref="SqliteLeadStore"/> and each lead's latest
/// score-history entry is read back: the totals must give the §7 row for 100,000 events.</item>
/// <item><b>PostgreSql</b>: <c>UsePostgreSql(…)</c> into a new database per iteration on the server of
/// <c>LEADSCORING_BENCH_POSTGRES</c> (else <c>LEADSCORING_TEST_POSTGRES</c>), an Npgsql connection string of a user
/// that may create databases (<c>scripts/pg-test-cluster.sh</c> starts a throwaway server; <c>PG_TEST_DURABLE=1</c>
/// keeps its durable defaults). Checked like <b>Sqlite</b>, from a new <see cref="PostgreSqlLeadStore"/>.</item>
/// <item><b>InMemoryStore</b>: the same pipeline with the default <see cref="InMemoryLeadStore"/>, to tell the
/// store's share from the pipeline's. Checked through the store too, from the lead states it holds (imported into a
/// new engine and evaluated), since its history is not indexed by lead.</item>
/// </list>
/// There is no hand-written baseline: nothing hand-written does what the pipeline does (batching, partitioned
/// workers, persisted lead state, history and checkpoints); compare with <c>ParseAndScoreBenchmarks</c>.
/// </summary>
[Config(typeof(PipelineConfig))]
[MessagesPerSecondColumn]
[MemoryDiagnoser]
public class PipelineBenchmarks
{
    private const int Events = 100_000;
    private const int Messages = CanonicalWorkload.LeadCount + Events;

    private CanonicalWorkload _workload = null!;
    private string _root = "";
    private string _inbox = "";
    private string _database = "";
    private IHost? _host;
    private int _runs;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _workload = CanonicalWorkload.Generate(Events);
        _root = Directory.CreateTempSubdirectory("leadscoring-pipeline-bench-").FullName;
        _inbox = Path.Combine(_root, "inbox");
        Directory.CreateDirectory(_inbox);
        File.WriteAllBytes(Path.Combine(_inbox, "messages.jsonl"), CanonicalJson.Build(_workload, Events));
    }

    [IterationSetup(Target = nameof(Sqlite))]
    public void SetupSqlite() => Setup(sqlite: true);

    [IterationSetup(Target = nameof(InMemoryStore))]
    public void SetupInMemory() => Setup(sqlite: false);

    [IterationSetup(Target = nameof(PostgreSql))]
    public void SetupPostgreSql() => Setup(sqlite: false, postgreSql: true);

    private string _postgreSqlDatabase = "";

    private string NewPostgreSqlDatabase()
    {
        DropPostgreSqlDatabase();
        _postgreSqlDatabase = PostgreSqlDatabases.Create();
        return _postgreSqlDatabase;
    }

    private void DropPostgreSqlDatabase()
    {
        if (_postgreSqlDatabase.Length > 0)
        {
            PostgreSqlDatabases.Drop(_postgreSqlDatabase);
            _postgreSqlDatabase = "";
        }
    }

    private void Setup(bool sqlite, bool postgreSql = false)
    {
        _host?.Dispose();
        _host = null;
        string run = Directory.CreateDirectory(Path.Combine(_root, "run-" + (++_runs).ToString(System.Globalization.CultureInfo.InvariantCulture))).FullName;
        _database = Path.Combine(run, "leads.db");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        var scoring = builder.Services
            .AddLeadScoring(o => o.ModelJson = CanonicalWorkload.ModelJson)
            .AddJsonLinesFolder(_inbox, f => f.Follow = false);
        if (sqlite)
        {
            scoring.UseSqlite($"Data Source={_database}");
        }
        else if (postgreSql)
        {
            _database = NewPostgreSqlDatabase();
            scoring.UsePostgreSql(_database);
        }

        _host = builder.Build();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task<long> Sqlite() => RunAsync();

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task<long> PostgreSql() => RunAsync();

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task<long> InMemoryStore() => RunAsync();

    private async Task<long> RunAsync()
    {
        var host = _host!;
        var status = host.Services.GetRequiredService<LeadScoringStatus>();
        await host.StartAsync();
        var until = DateTime.UtcNow.AddMinutes(5);
        while (!(status.IsDrained && status.CommittedMessages + status.RejectedMessages >= Messages))
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"the pipeline committed {status.CommittedMessages} of {Messages} messages in 5 minutes");
            }

            await Task.Delay(10);
        }

        await host.StopAsync();
        return status.CommittedMessages;
    }

    [GlobalCleanup(Target = nameof(Sqlite))]
    public void CheckSqlite()
    {
        CheckCounts();
        _host!.Dispose();
        _host = null;
        using (var store = new SqliteLeadStore(new SqliteLeadStoreOptions { ConnectionString = $"Data Source={_database}" }))
        {
            Check("SQLite pipeline, last iteration, read back from a new SqliteLeadStore on its file", store);
        }

        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Cleanup();
    }

    [GlobalCleanup(Target = nameof(PostgreSql))]
    public void CheckPostgreSql()
    {
        CheckCounts();
        _host!.Dispose();
        _host = null;
        using (var store = new PostgreSqlLeadStore(new PostgreSqlLeadStoreOptions { ConnectionString = _database }))
        {
            Check("PostgreSQL pipeline, last iteration, read back from a new PostgreSqlLeadStore on its database", store);
        }

        DropPostgreSqlDatabase();
        Cleanup();
    }

    [GlobalCleanup(Target = nameof(InMemoryStore))]
    public void CheckInMemory()
    {
        CheckCounts();
        // InMemoryLeadStore.GetHistoryAsync scans all history per call; read the stored lead states instead.
        var store = _host!.Services.GetRequiredService<ILeadStore>();
        var engine = new LeadScoringEngine(CanonicalWorkload.CompileModel());
        var leads = store.LoadLeadsAsync(CancellationToken.None).ToBlockingEnumerable();
        foreach (var snapshot in leads)
        {
            engine.ImportLead(snapshot);
        }

        CanonicalWorkload.Check("in-memory-store pipeline, last iteration, lead states read back from its store", Events, CanonicalWorkload.Describe(_workload.Totals(engine)));
        Cleanup();
    }

    private void CheckCounts()
    {
        var status = _host!.Services.GetRequiredService<LeadScoringStatus>();
        if (status.CommittedMessages != Messages || status.RejectedMessages != 0)
        {
            throw new InvalidOperationException($"the pipeline committed {status.CommittedMessages} messages and {status.RejectedMessages} rejected; expected {Messages} and 0");
        }
    }

    /// <summary>Each lead's latest score-history entry from the store: its <c>total</c>, in <c>lead_id</c> order.</summary>
    private void Check(string what, ILeadStore store)
    {
        store.InitializeAsync(CancellationToken.None).AsTask().GetAwaiter().GetResult();
        var totals = new int[CanonicalWorkload.LeadCount];
        for (int i = 0; i < totals.Length; i++)
        {
            string id = _workload.UserIds[i];
            var history = store.GetHistoryAsync(id, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            if (history.Count == 0)
            {
                throw new InvalidOperationException($"{what}: the store has no score history for {id}");
            }

            var total = history[^1].Scores.Single(s => s.Key == "total");
            totals[i] = checked((int)total.Value);
        }

        CanonicalWorkload.Check(what, Events, CanonicalWorkload.Describe(totals));
    }

    private void Cleanup()
    {
        _host?.Dispose();
        _host = null;
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A temporary folder left behind is harmless.
        }
    }
}
