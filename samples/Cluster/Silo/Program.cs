// A LeadScoring cluster on one machine: silos sharing a PostgreSQL database (the message log), and a client that
// feeds messages and writes every lead's result. Modes (first argument):
//   silo  --silo-port 11111 --gateway-port 30000 [--clustering adonet|localhost] [--primary-port 11111]
//         [--postgres "Host=...;Database=..."] [--model samples/data/model.json] [--partitions 16]
//   feed  --file samples/data/messages.jsonl --out results.jsonl [--clustering adonet --postgres "..." | --gateways 30000,30001]
//         [--as-of 2026-11-30T00:00:00Z] [--batch 500] [--delay-ms 0] [--shuffle-seed N]
//   create-db / drop-db --postgres "..."; sql --postgres "..." --query "SELECT ..." (first column of each row)
// Clustering "adonet" (the default when --postgres is given; production): membership, reminders (the stage clock)
// and grain state in PostgreSQL through UseLeadScoringPostgreSql, which installs LeadScoring's schema when a silo
// starts; no silo is special, kill any. Clustering "localhost" (development): the silo on --primary-port holds the
// membership (in memory), the others join it; kill any other silo and the cluster goes on.
using System.Net;
using System.Text;
using LeadScoring.Hosting;
using LeadScoring.Orleans;
using LeadScoring.PostgreSql;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;

string mode = args.FirstOrDefault() ?? "silo";
var builder = Host.CreateApplicationBuilder(args.Skip(1).ToArray());
var config = builder.Configuration;
builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("LeadScoring", LogLevel.Information).AddFilter("Program", LogLevel.Information);
string? postgres = config["postgres"] ?? Environment.GetEnvironmentVariable("LEADSCORING_CLUSTER_POSTGRES");
string clustering = config["clustering"] ?? (postgres is null ? "localhost" : "adonet");

switch (mode)
{
    case "silo":
        builder.UseOrleans(silo =>
        {
            int siloPort = int.Parse(config["silo-port"] ?? "11111");
            int gatewayPort = int.Parse(config["gateway-port"] ?? "30000");
            if (clustering == "adonet")
            {
                string cs = postgres ?? throw new InvalidOperationException("--clustering adonet needs --postgres (or LEADSCORING_CLUSTER_POSTGRES)");
                silo.UseLeadScoringPostgreSql(cs);   // ADO.NET clustering, reminders and grain storage; installs the schema
                silo.ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPort);
            }
            else
            {
                int primary = int.Parse(config["primary-port"] ?? "11111");
                silo.UseLocalhostClustering(siloPort, gatewayPort, new IPEndPoint(IPAddress.Loopback, primary));
                silo.UseInMemoryReminderService();
            }

            // A dead silo is declared dead within seconds (two missed probes of 2 s, one vote: a cluster of 2 or 3).
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(2);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
            });
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
            silo.AddLeadScoring(o =>
            {
                o.ModelPath = config["model"] ?? Path.Combine("samples", "data", "model.json");
                o.Partitions = int.Parse(config["partitions"] ?? "16");
            });
        });
        if (postgres is not null)
        {
            builder.Services.AddSingleton<ILeadStore>(_ => new PostgreSqlLeadStore(new PostgreSqlLeadStoreOptions { ConnectionString = postgres }));
        }

        builder.Services.AddSingleton<IStageChangedHandler, StageLogger>();
        await builder.Build().RunAsync();
        return 0;

    case "feed":
        builder.UseOrleansClient(client =>
        {
            if (clustering == "adonet")
            {
                client.UseLeadScoringPostgreSql(postgres ?? throw new InvalidOperationException("--clustering adonet needs --postgres"));
            }
            else
            {
                var gateways = (config["gateways"] ?? "30000").Split(',').Select(p => new IPEndPoint(IPAddress.Loopback, int.Parse(p)));
                client.UseStaticClustering([.. gateways]);
            }
        });
        builder.Services.AddLeadScoringClient();
        using (var host = builder.Build())
        {
            await host.StartAsync();
            int status = await FeedAsync(host.Services.GetRequiredService<ILeadScoringClient>(), config);
            await host.StopAsync();
            return status;
        }

    case "create-db":
    {
        // A new database on the server of --postgres; prints its connection string (for scripts and tests).
        string server = postgres ?? throw new InvalidOperationException("create-db needs --postgres");
        string name = config["name"] ?? "leadscoring_cluster_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new Npgsql.NpgsqlConnection(server))
        {
            await connection.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        Console.WriteLine(new Npgsql.NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString);
        return 0;
    }

    case "drop-db":
    {
        var target = new Npgsql.NpgsqlConnectionStringBuilder(postgres ?? throw new InvalidOperationException("drop-db needs --postgres"));
        string name = target.Database!;
        target.Database = "postgres";
        await using var connection = new Npgsql.NpgsqlConnection(target.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await command.ExecuteNonQueryAsync();
        return 0;
    }

    case "sql":
    {
        // Prints the first column of each row of --query (for the scripts: the membership and reminder tables).
        await using var connection = new Npgsql.NpgsqlConnection(postgres ?? throw new InvalidOperationException("sql needs --postgres"));
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(config["query"] ?? throw new InvalidOperationException("sql needs --query"), connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            Console.WriteLine(reader.IsDBNull(0) ? "" : Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
        }

        return 0;
    }

    default:
        Console.Error.WriteLine($"error: unknown mode '{mode}' (silo, feed, create-db, drop-db or sql)");
        return 2;
}

static async Task<int> FeedAsync(ILeadScoringClient client, IConfiguration config)
{
    string file = config["file"] ?? Path.Combine("samples", "data", "messages.jsonl");
    var lines = File.ReadAllLines(file).Where(l => l.Length > 0).ToArray();
    if (config["shuffle-seed"] is { } seed)
    {
        new Random(int.Parse(seed)).Shuffle(lines);
    }

    int size = int.Parse(config["batch"] ?? "500");
    int delay = int.Parse(config["delay-ms"] ?? "0");
    var batches = lines.Chunk(size).ToArray();
    long accepted = 0, rejected = 0;
    for (int i = 0; i < batches.Length; i++)
    {
        var result = await client.IngestJsonLinesAsync(Encoding.UTF8.GetBytes(string.Join('\n', batches[i]) + "\n"), $"{Path.GetFileName(file)} batch {i}");
        accepted += result.Accepted;
        rejected += result.Rejected.Count;
        foreach (var r in result.Rejected)
        {
            Console.Error.WriteLine($"rejected: {r.Location}: {r.Reason}");
        }

        Console.WriteLine($"sent batch {i + 1} of {batches.Length}");
        if (delay > 0)
        {
            await Task.Delay(delay);
        }
    }

    var asOf = DateTimeOffset.Parse(config["as-of"] ?? "2026-11-30T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture);
    var results = await client.EvaluateAllAsync(asOf, explain: config["explain"] == "true");
    if (config["out"] is { } output)
    {
        await File.WriteAllTextAsync(output, string.Concat(results.Select(r => r + "\n")));
    }

    Console.WriteLine($"done: {accepted} accepted, {rejected} rejected, {results.Count} leads");
    return 0;
}

/// <summary>Prints every stage move (the sample's handler; a real one would call a CRM, keyed by the idempotency key).</summary>
internal sealed class StageLogger(ILogger<StageLogger> logger) : IStageChangedHandler
{
    public ValueTask OnStageChangedAsync(StageChangedArguments arguments, CancellationToken cancellationToken)
    {
        logger.LogDebug("stage: {Key}", arguments.IdempotencyKey);
        return ValueTask.CompletedTask;
    }
}
