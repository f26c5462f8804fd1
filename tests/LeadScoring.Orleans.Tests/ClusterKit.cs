using System.Collections.Concurrent;
using System.Text;
using LeadScoring.Cli;
using LeadScoring.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime;
using Orleans.TestingHost;

namespace LeadScoring.Orleans.Tests;

/// <summary>What the silos of one test cluster share in this process: the store (the message log), the handler's record, the clock.</summary>
internal sealed class ClusterRun
{
    /// <summary>The test collection of the cluster tests: one cluster at a time on this machine's cores.</summary>
    public const string Collection = "Orleans clusters";

    private static readonly ConcurrentDictionary<string, ClusterRun> Runs = new();

    public string Id { get; } = Guid.NewGuid().ToString("N");

    public InMemoryLeadStore Store { get; } = new();

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 11, 30, 0, 0, 0, TimeSpan.Zero));

    public ConcurrentQueue<StageChangedArguments> Told { get; } = new();

    public int Partitions { get; init; } = 16;

    /// <summary>
    /// A connection string: the silos keep membership, reminders and grain state in that PostgreSQL database
    /// (<c>UseLeadScoringPostgreSql</c>) and the client finds them there. Null (the default): the test cluster's own
    /// membership and in-memory reminders.
    /// </summary>
    public string? PostgreSql { get; init; }

    /// <summary>Whether the silos install the Orleans schema when they start (default), or only check it (<c>EnsureSchema = false</c>).</summary>
    public bool InstallSchema { get; init; } = true;

    /// <summary>Orleans' ServiceId of the cluster (reminders and grain state are kept per service); null: the test cluster's.</summary>
    public string? ServiceId { get; init; }

    /// <summary>
    /// Set to make the next stage handler call on a silo other than <see cref="Spared"/> stop there, in the middle of
    /// a batch, until its silo is killed: the silo is put in <see cref="Blocked"/>.
    /// </summary>
    public volatile bool BlockNext;

    public SiloAddress? Spared { get; set; }

    /// <summary>Handler calls by silo (diagnostics).</summary>
    public ConcurrentDictionary<string, int> CallsBySilo { get; } = new();

    public TaskCompletionSource<SiloAddress> Blocked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static ClusterRun Get(string id) => Runs[id];

    public async Task<TestCluster> StartAsync(int silos)
    {
        Runs[Id] = this;
        var builder = new TestClusterBuilder((short)silos);
        builder.Properties["LeadScoringRun"] = Id;
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        if (PostgreSql is not null)
        {
            builder.Options.UseTestClusterMembership = false;
            builder.AddClientBuilderConfigurator<ClientConfigurator>();
        }

        if (ServiceId is not null)
        {
            builder.Options.ServiceId = ServiceId;
        }
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }

    public LeadScoringClient Client(TestCluster cluster) => new(cluster.Client,
        Options.Create(new LeadScoringClientOptions { RetryDelay = TimeSpan.FromMilliseconds(200), MaxAttempts = 20 }),
        NullLogger<LeadScoringClient>.Instance);

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            var run = Get(siloBuilder.Configuration["LeadScoringRun"]!);
            siloBuilder.Services.AddSingleton<ILeadStore>(run.Store);
            siloBuilder.Services.AddSingleton<IStageChangedHandler>(sp => new Recorder(run, sp.GetRequiredService<ILocalSiloDetails>().SiloAddress));
            if (run.PostgreSql is null)
            {
                siloBuilder.UseInMemoryReminderService();
            }
            else
            {
                siloBuilder.UseLeadScoringPostgreSql(run.PostgreSql, o => o.EnsureSchema = run.InstallSchema);
                // Test reminders tick every few seconds (the stage clock keeps its minute).
                siloBuilder.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeSpan.FromSeconds(1));
            }

            siloBuilder.AddLeadScoring(o =>
            {
                o.ModelPath = Sample.Model;
                o.Partitions = run.Partitions;
                o.TimeProvider = run.Time;
            });
            // A killed silo is declared dead within seconds, and calls to it fail instead of waiting 30 s.
            siloBuilder.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.NumVotesForDeathDeclaration = 1;
            });
            siloBuilder.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
        }
    }

    private sealed class ClientConfigurator : IClientBuilderConfigurator
    {
        public void Configure(IConfiguration configuration, IClientBuilder clientBuilder) =>
            clientBuilder.UseLeadScoringPostgreSql(Get(configuration["LeadScoringRun"]!).PostgreSql!);
    }

    private sealed class Recorder(ClusterRun run, SiloAddress silo) : IStageChangedHandler
    {
        public async ValueTask OnStageChangedAsync(StageChangedArguments arguments, CancellationToken cancellationToken)
        {
            run.CallsBySilo.AddOrUpdate(silo.ToString(), 1, (_, n) => n + 1);
            if (run.BlockNext && !silo.Equals(run.Spared) && run.Blocked.TrySetResult(silo))
            {
                run.BlockNext = false;
                await Task.Delay(Timeout.Infinite, cancellationToken);   // until the silo is killed
            }

            run.Told.Enqueue(arguments);
        }
    }
}

/// <summary>The repository's sample and what <c>leadscore score</c> prints for it.</summary>
internal static class Sample
{
    public const string AsOfText = "2026-11-30T00:00:00Z";

    public static readonly DateTimeOffset AsOf = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);

    public static string Model => Path.Combine(AppContext.BaseDirectory, "data", "model.json");

    public static string Messages => Path.Combine(AppContext.BaseDirectory, "data", "messages.jsonl");

    /// <summary>The lines of <c>leadscore score --explain</c> on the sample (the tool itself, run in this process).</summary>
    public static string[] CliLines(bool explain)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        var env = new CliEnvironment
        {
            Stdout = stdout,
            Stderr = stderr,
            OpenStdin = () => new MemoryStream(),
            Time = new FakeTimeProvider(AsOf),
            StderrIsTerminal = false,
        };
        string[] args = ["score", "--model", Model, "--events", Messages, "--as-of", AsOfText, .. explain ? new[] { "--explain" } : []];
        int exit = LeadScoreCli.Run(args, env);
        exit.Should().Be(0, stderr.ToString());
        return Encoding.UTF8.GetString(stdout.ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
