using System.Reflection;
using System.Text;
using LeadScoring.Orleans.PostgreSql;
using Orleans;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace LeadScoring.Orleans.Tests;

/// <summary>
/// Issue 15, item 2: Orleans' ADO.NET clustering, reminders and grain storage on PostgreSQL, through
/// <c>UseLeadScoringPostgreSql</c> and LeadScoring's own schema, with real silos (a TestCluster whose silos and client
/// find each other through the database). Each test has a database of its own.
/// </summary>
[Collection(ClusterRun.Collection)]
public sealed class AdoNetClusterTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const int Active = 3;   // Orleans' SiloStatus.Active
    private const int Dead = 6;     // SiloStatus.Dead

    [PostgreSqlFact]
    public async Task Schema_is_installed_once_and_holds_every_query_the_Orleans_providers_require()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();

        // Three silos starting at once: one installs, the others find it done.
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => LeadScoringOrleansSchema.EnsureAsync(db.ConnectionString)));
        await LeadScoringOrleansSchema.EnsureAsync(db.ConnectionString);

        (await db.RowsAsync("SELECT version FROM orleans_schema_version")).Select(r => Convert.ToInt32(r[0]))
            .Should().Equal(Enumerable.Range(1, LeadScoringOrleansSchema.LatestVersion));

        // What the providers check at start (their own list of keys, read from the 10.4.2 assemblies), plus the
        // grain storage's four statements (DeleteStorageKey is optional there).
        var required = StoredQueryKeys(typeof(global::Orleans.Configuration.AdoNetClusteringSiloOptions), "Orleans.Clustering.AdoNet.Storage.DbStoredQueries")
            .Concat(StoredQueryKeys(typeof(global::Orleans.Configuration.AdoNetReminderTableOptions), "Orleans.Reminders.AdoNet.Storage.DbStoredQueries"))
            .Concat(["WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey", "DeleteStorageKey"])
            .ToList();
        required.Should().Contain(["MembershipReadAllKey", "UpsertReminderRowKey"]);
        var installed = (await db.RowsAsync("SELECT QueryKey FROM OrleansQuery")).Select(r => (string)r[0]!).ToList();
        installed.Should().BeEquivalentTo(required);
        LeadScoringOrleansSchema.QueryKeys.Should().BeEquivalentTo(required);

        // A database written by a newer package is refused, with the reason.
        await db.ScalarAsync("INSERT INTO orleans_schema_version (version, description) VALUES (99, 'from the future')");
        var newer = () => LeadScoringOrleansSchema.EnsureAsync(db.ConnectionString);
        (await newer.Should().ThrowAsync<InvalidOperationException>()).WithMessage("*version 99, newer than this LeadScoring.Orleans supports*");
    }

    [PostgreSqlFact]
    public async Task A_silo_told_not_to_install_the_schema_refuses_to_start_without_it_saying_what_to_run()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var run = new ClusterRun { Partitions = 1, PostgreSql = db.ConnectionString, InstallSchema = false };
        var start = () => run.StartAsync(silos: 1);
        var failure = (await start.Should().ThrowAsync<Exception>()).Which;
        var messages = Chain(failure).Select(e => e.Message).ToList();
        messages.Should().Contain(m => m.Contains("Orleans tables of LeadScoring") && m.Contains("are missing")
            && m.Contains("LeadScoringOrleansSchema.EnsureAsync"), "the silo says what is wrong and what to run");
        (await db.ScalarAsync("SELECT to_regclass('orleansquery') IS NULL")).Should().Be(true, "a silo told not to install creates nothing");

        // Installed by a deployment step: the same silo starts.
        await LeadScoringOrleansSchema.EnsureAsync(db.ConnectionString);
        var cluster = await run.StartAsync(silos: 1);
        await StopAsync(cluster);

        static IEnumerable<Exception> Chain(Exception? e)
        {
            for (; e is not null; e = e.InnerException)
            {
                yield return e;
                if (e is AggregateException aggregate)
                {
                    foreach (var inner in aggregate.InnerExceptions.SelectMany(Chain))
                    {
                        yield return inner;
                    }
                }
            }
        }
    }

    [PostgreSqlFact]
    public async Task Silos_join_through_PostgreSQL_a_killed_silo_is_declared_dead_there_and_the_scores_stay_exact()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var run = new ClusterRun { Partitions = 4, PostgreSql = db.ConnectionString };
        var cluster = await run.StartAsync(silos: 2);
        try
        {
            string clusterId = cluster.Options.ClusterId;
            var silos = await SilosAsync(db, clusterId);
            silos.Select(s => (s.Port, s.Generation)).Should().BeEquivalentTo(cluster.Silos.Select(h => (h.SiloAddress.Endpoint.Port, h.SiloAddress.Generation)));
            silos.Should().OnlyContain(s => s.Status == Active);
            int versionAfterJoin = Convert.ToInt32(await db.ScalarAsync($"SELECT version FROM orleans_cluster WHERE cluster_id = '{clusterId}'"));
            versionAfterJoin.Should().BeGreaterThanOrEqualTo(2, "each silo's row was added with a raise of the table version");

            var client = run.Client(cluster);
            var lines = File.ReadAllLines(Sample.Messages).Where(l => l.Length > 0).ToArray();
            new Random(15).Shuffle(lines);
            var batches = lines.Chunk(2_000).ToArray();
            foreach (var batch in batches[..(batches.Length / 2)])
            {
                await client.IngestJsonLinesAsync(Encoding.UTF8.GetBytes(string.Join('\n', batch) + "\n"));
            }

            // Every partition registered its stage clock in PostgreSQL.
            (await db.RowsAsync("SELECT grain_id FROM orleans_reminder WHERE reminder_name = 'leadscoring-stage-clock'"))
                .Should().HaveCount(run.Partitions);

            var victim = cluster.Silos[1];
            await cluster.KillSiloAsync(victim);
            var dead = await WaitForAsync(async () => (await SilosAsync(db, clusterId))
                .Single(s => s.Port == victim.SiloAddress.Endpoint.Port && s.Generation == victim.SiloAddress.Generation).Status == Dead,
                TimeSpan.FromSeconds(60));
            dead.Should().BeTrue("the surviving silo declares the killed one dead in the membership table");
            output.WriteLine($"membership rows: {string.Join("; ", (await SilosAsync(db, clusterId)).Select(s => $"{s.Port}/{s.Generation}: {s.Status}"))}");
            int versionAfterDeath = Convert.ToInt32(await db.ScalarAsync($"SELECT version FROM orleans_cluster WHERE cluster_id = '{clusterId}'"));
            versionAfterDeath.Should().BeGreaterThan(versionAfterJoin);

            foreach (var batch in batches[(batches.Length / 2)..])
            {
                await client.IngestJsonLinesAsync(Encoding.UTF8.GetBytes(string.Join('\n', batch) + "\n"));
            }

            var hosts = await cluster.Client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true);
            hosts.Keys.Should().Equal([cluster.Silos[0].SiloAddress]);

            var expected = Sample.CliLines(explain: true);
            var actual = await client.EvaluateAllAsync(Sample.AsOf, explain: true);
            actual.Should().HaveCount(expected.Length);
            for (int i = 0; i < expected.Length; i++)
            {
                actual[i].Should().Be(expected[i], "lead line {0} must be byte-identical to leadscore score", i);
            }
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    [PostgreSqlFact]
    public async Task A_reminder_kept_in_PostgreSQL_ticks_again_after_the_whole_cluster_restarts()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        string serviceId = "ticks-" + Guid.NewGuid().ToString("N")[..8];
        string key = Guid.NewGuid().ToString("N");
        var ticks = TickGrain.Ticks.GetOrAdd(key, _ => new());

        var first = new ClusterRun { Partitions = 1, PostgreSql = db.ConnectionString, ServiceId = serviceId };
        var cluster = await first.StartAsync(silos: 1);
        try
        {
            await cluster.Client.GetGrain<ITickGrain>(key).StartAsync(TimeSpan.FromSeconds(2));
            (await WaitForAsync(() => Task.FromResult(!ticks.IsEmpty), TimeSpan.FromSeconds(30))).Should().BeTrue("the reminder ticks");
            var rows = await db.RowsAsync($"SELECT service_id, period_ms FROM orleans_reminder WHERE reminder_name = 'tick'");
            rows.Should().ContainSingle().Which.Should().Equal(serviceId, 2_000L);
        }
        finally
        {
            await StopAsync(cluster);
        }

        // Nobody calls the grain in the new cluster: only the reminder row can wake it.
        ticks.Clear();
        var second = new ClusterRun { Partitions = 1, PostgreSql = db.ConnectionString, ServiceId = serviceId };
        cluster = await second.StartAsync(silos: 1);
        try
        {
            (await WaitForAsync(() => Task.FromResult(!ticks.IsEmpty), TimeSpan.FromSeconds(60)))
                .Should().BeTrue("the new cluster's reminder service reads the reminder from PostgreSQL and ticks it");

            await cluster.Client.GetGrain<ITickGrain>(key).StopAsync();
            (await db.ScalarAsync("SELECT count(*) FROM orleans_reminder WHERE reminder_name = 'tick'")).Should().Be(0L);
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    [PostgreSqlFact]
    public async Task Grain_state_is_written_to_PostgreSQL_read_back_by_a_new_activation_and_a_stale_ETag_is_refused()
    {
        await using var db = await TestPostgres.CreateDatabaseAsync();
        var run = new ClusterRun { Partitions = 1, PostgreSql = db.ConnectionString };
        var cluster = await run.StartAsync(silos: 1);
        try
        {
            var grain = cluster.Client.GetGrain<ICounterGrain>(7);
            (await grain.IncrementAsync()).Should().BeNull();
            (await grain.IncrementAsync()).Should().BeNull();
            (await StateRowAsync(db)).Should().Be((2, true));

            // A new activation reads the state back from the table.
            await grain.DeactivateAsync();
            (await grain.GetAsync()).Should().Be((2, "2", true));

            // Another writer moved the stored version on: this activation's write is refused, nothing is overwritten.
            await db.ScalarAsync("UPDATE orleans_grain_state SET version = version + 1");
            (await grain.IncrementAsync()).Should().Be("InconsistentStateException");
            (await StateRowAsync(db)).Should().Be((3, true));

            await grain.DeactivateAsync();
            (await grain.GetAsync()).Should().Be((2, "3", true));
            (await grain.IncrementAsync()).Should().BeNull();
            (await grain.GetAsync()).Should().Be((3, "4", true));

            // Clearing keeps the row (its version goes on), without a state.
            await grain.ClearAsync();
            (await StateRowAsync(db)).Should().Be((5, false));
            await grain.DeactivateAsync();
            (await grain.GetAsync()).Should().Be((0, "5", false));
        }
        finally
        {
            await StopAsync(cluster);
        }
    }

    private static async Task<(int Version, bool HasPayload)> StateRowAsync(TestDatabase db)
    {
        var row = (await db.RowsAsync("SELECT version, payload IS NOT NULL FROM orleans_grain_state WHERE grain_type LIKE '%counter%'")).Single();
        return (Convert.ToInt32(row[0]), (bool)row[1]!);
    }

    private static async Task<List<(int Port, int Generation, int Status)>> SilosAsync(TestDatabase db, string clusterId) =>
        [.. (await db.RowsAsync($"SELECT port, generation, status FROM orleans_silo WHERE cluster_id = '{clusterId}'"))
            .Select(r => ((int)r[0]!, (int)r[1]!, (int)r[2]!))];

    private static IEnumerable<string> StoredQueryKeys(Type providerType, string typeName) =>
        (providerType.Assembly.GetType(typeName, throwOnError: true)!)
            .GetProperties(BindingFlags.Instance | BindingFlags.NonPublic).Select(p => p.Name);

    private static async Task<bool> WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < until)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(250);
        }

        return await condition();
    }

    private static async Task StopAsync(TestCluster cluster)
    {
        await cluster.StopAllSilosAsync();
        await cluster.DisposeAsync();
    }
}
