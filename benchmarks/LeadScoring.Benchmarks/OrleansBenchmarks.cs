using System.Text;
using BenchmarkDotNet.Attributes;
using LeadScoring.Benchmarks.Canonical;
using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Model;
using LeadScoring.Orleans;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace LeadScoring.Benchmarks;

/// <summary>
/// Issue 15: the repository's sample (samples/data/messages.jsonl: 22,813 messages, 640 leads, with links, group
/// messages, copies and late messages) scored through the Orleans cluster and through the in-process pipeline, in the
/// same run. Figures per message (OperationsPerInvoke = the file's lines); <c>Msgs/s (median)</c> is the throughput.
/// <list type="bullet">
/// <item><b>InProcessPipeline</b>: LeadScoring.Hosting as <c>samples/Worker</c> runs it (a folder source that does not
/// follow, the in-memory store, every other option at its default); timed from start until drained.</item>
/// <item><b>Cluster1Silo</b>, <b>Cluster2Silos</b>: a <c>TestCluster</c> in this process (silos talk over loopback
/// TCP, the client too), <c>AddLeadScoring</c> with 16 partitions and a shared <see cref="InMemoryLeadStore"/>; the
/// client sends the file in batches of 2,000 lines (the pipeline's batch size) with <see cref="ILeadScoringClient.IngestJsonLinesAsync"/>.</item>
/// <item><b>GrainPerLead</b>: the other design, measured as a micro-case: one grain per lead (its own engine), one grain
/// call per message, 2,000 calls in flight, 1 silo; no identity directory, no log, so a lower bound of its cost.</item>
/// </list>
/// Outside the timed region: each iteration starts a new cluster (or host) and stops it after. Checked after the runs:
/// the last cluster's results equal one engine's on the same file.
/// </summary>
[Config(typeof(PipelineConfig))]
[MessagesPerSecondColumn]
[MemoryDiagnoser]
public class OrleansBenchmarks
{
    private const int BatchLines = 2_000;
    private static readonly DateTimeOffset AsOf = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);

    private static readonly string SampleFolder = FindSample();
    private static readonly string ModelPath = Path.Combine(SampleFolder, "model.json");
    private static readonly string MessagesPath = Path.Combine(SampleFolder, "messages.jsonl");
    private static readonly string[] Lines = File.ReadAllLines(MessagesPath).Where(l => l.Length > 0).ToArray();

    /// <summary>The file's lines: one benchmark operation is one message.</summary>
    public const int Messages = 22_813;

    private byte[][] _batches = [];
    private LeadMessage[] _parsed = [];
    private string _inbox = "";
    private IHost? _host;
    private TestCluster? _cluster;
    private ILeadScoringClient? _client;

    [GlobalSetup]
    public void GlobalSetup()
    {
        if (Lines.Length != Messages)
        {
            throw new InvalidOperationException($"{MessagesPath}: {Lines.Length} lines, expected {Messages}");
        }

        _batches = [.. Lines.Chunk(BatchLines).Select(c => Encoding.UTF8.GetBytes(string.Join('\n', c) + "\n"))];
        _parsed = [.. Lines.Select(l => MessageParser.Parse(l).Message).OfType<LeadMessage>()];
        _inbox = Directory.CreateTempSubdirectory("leadscoring-orleans-bench-").FullName;
        File.Copy(MessagesPath, Path.Combine(_inbox, "messages.jsonl"));
    }

    // ------------------------------------------------------------------ in-process pipeline

    [IterationSetup(Target = nameof(InProcessPipeline))]
    public void SetupPipeline()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders();
        builder.Services.AddLeadScoring(o => o.ModelPath = ModelPath).AddJsonLinesFolder(_inbox, f => f.Follow = false);
        _host = builder.Build();
        Collect();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages)]
    public async Task<long> InProcessPipeline()
    {
        var status = _host!.Services.GetRequiredService<LeadScoringStatus>();
        await _host.StartAsync();
        var until = DateTime.UtcNow.AddMinutes(5);
        while (!(status.IsDrained && status.Batches > 0))
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException("the pipeline did not drain the sample in 5 minutes");
            }

            await Task.Delay(5);
        }

        await _host.StopAsync();
        return status.CommittedMessages;
    }

    [IterationCleanup(Target = nameof(InProcessPipeline))]
    public void CleanupPipeline()
    {
        _host?.Dispose();
        _host = null;
    }

    // ------------------------------------------------------------------ the cluster

    [IterationSetup(Target = nameof(Cluster1Silo))]
    public void SetupCluster1() => StartCluster(1);

    [IterationSetup(Target = nameof(Cluster2Silos))]
    public void SetupCluster2() => StartCluster(2);

    [IterationSetup(Target = nameof(GrainPerLead))]
    public void SetupGrainPerLead() => StartCluster(1);

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task<int> Cluster1Silo() => IngestAsync();

    [Benchmark(OperationsPerInvoke = Messages)]
    public Task<int> Cluster2Silos() => IngestAsync();

    [Benchmark(OperationsPerInvoke = Messages)]
    public async Task<int> GrainPerLead()
    {
        var grains = _cluster!.Client;
        int applied = 0;
        foreach (var chunk in _parsed.Chunk(BatchLines))
        {
            var calls = chunk.Select(m => grains.GetGrain<ILeadGrain>(m.LeadId).ApplyAsync(m));
            applied += (await Task.WhenAll(calls)).Sum();
        }

        return applied;
    }

    private async Task<int> IngestAsync()
    {
        int accepted = 0;
        foreach (var batch in _batches)
        {
            accepted += (await _client!.IngestJsonLinesAsync(batch)).Accepted;
        }

        return accepted;
    }

    [IterationCleanup(Targets = [nameof(Cluster1Silo), nameof(Cluster2Silos), nameof(GrainPerLead)])]
    public void StopCluster()
    {
        if (_cluster is { } cluster)
        {
            cluster.StopAllSilosAsync().GetAwaiter().GetResult();
            cluster.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        _cluster = null;
    }

    [GlobalCleanup(Targets = [nameof(Cluster1Silo), nameof(Cluster2Silos)])]
    public void CheckCluster()
    {
        // One more cluster, checked: its output equals one engine's (the tests compare with leadscore score).
        StartCluster(2);
        IngestAsync().GetAwaiter().GetResult();
        var actual = _client!.EvaluateAllAsync(AsOf).GetAwaiter().GetResult();
        StopCluster();
        var engine = new LeadScoringEngine(CompiledModel.Compile(ScoringModelLoader.LoadFile(ModelPath).GetModelOrThrow()));
        foreach (var m in _parsed)
        {
            engine.Apply(m);
        }

        var expected = engine.EvaluateAll(AsOf).Select(Output.LeadResultJson.ToJson).ToList();
        if (!actual.SequenceEqual(expected))
        {
            throw new InvalidOperationException($"the cluster's {actual.Count} results differ from one engine's {expected.Count}");
        }

        Console.WriteLine($"// check passed: the cluster's {actual.Count} leads equal one engine's");
    }

    private void StartCluster(int silos)
    {
        StopCluster();
        SiloConfigurator.Reset();
        var builder = new TestClusterBuilder((short)silos);
        builder.AddSiloBuilderConfigurator<SiloConfigurator>();
        var cluster = builder.Build();
        cluster.DeployAsync().GetAwaiter().GetResult();
        _cluster = cluster;
        _client = new LeadScoringClient(cluster.Client, Options.Create(new LeadScoringClientOptions()), NullLogger<LeadScoringClient>.Instance);
        // Activations (directory, partitions) before the timed region, as in a running cluster.
        _client.IngestAsync([]).GetAwaiter().GetResult();
        Collect();
    }

    private static void Collect()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static string FindSample()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "samples", "data");
            if (File.Exists(Path.Combine(candidate, "messages.jsonl")))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException("samples/data/messages.jsonl not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Each silo: the grains, 16 partitions, one store shared by the silos of this process, logging off.</summary>
    private sealed class SiloConfigurator : ISiloConfigurator
    {
        private static InMemoryLeadStore? _store;

        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.Services.AddSingleton<ILeadStore>(_ => _store ??= new InMemoryLeadStore());
            siloBuilder.Services.AddLogging(l => l.ClearProviders());
            siloBuilder.AddLeadScoring(o =>
            {
                o.ModelPath = ModelPath;
                o.UseStageClockReminders = false;
            });
        }

        public static void Reset() => _store = null;
    }
}

/// <summary>The alternative design's grain: one lead, its own engine.</summary>
internal interface ILeadGrain : IGrainWithStringKey
{
    /// <summary>Applies one message; 1 when counted.</summary>
    Task<int> ApplyAsync(LeadMessage message);
}

/// <summary>One lead per grain (the design not chosen; see docs/orleans.md).</summary>
internal sealed class LeadGrain(LeadScoringSiloServices services) : Grain, ILeadGrain
{
    private readonly LeadScoringEngine _engine = services.NewEngine();

    /// <inheritdoc />
    public Task<int> ApplyAsync(LeadMessage message) => Task.FromResult(_engine.Apply(message) == ApplyOutcome.Duplicate ? 0 : 1);
}
