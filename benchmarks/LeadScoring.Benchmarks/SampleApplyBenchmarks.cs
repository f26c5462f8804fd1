using BenchmarkDotNet.Attributes;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Benchmarks;

/// <summary>
/// Applying the sample's messages (samples/data) to a fresh engine, in spec order: the streaming hot path on a
/// 30-rule model with decay, limits, personas and stages. Per message: divide by <see cref="Messages"/>.
/// </summary>
[MemoryDiagnoser]
public class SampleApplyBenchmarks
{
    private CompiledModel _model = null!;
    private LeadMessage[] _messages = [];

    public int Messages => _messages.Length;

    [GlobalSetup]
    public void Setup()
    {
        string root = FindRoot();
        _model = CompiledModel.Compile(ScoringModelLoader.LoadFile(Path.Combine(root, "samples", "data", "model.json")).GetModelOrThrow());
        using var stream = File.OpenRead(Path.Combine(root, "samples", "data", "messages.jsonl"));
        _messages = MessageReader.Read(stream)
            .Where(r => r.Result.Message is not null)
            .Select(r => r.Result.Message!)
            .OrderBy(m => m, Comparer<LeadMessage>.Create(LeadMessage.CompareOrder))
            .ToArray();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = 22_000)]
    public LeadScoringEngine ApplyInOrder()
    {
        // The engine's default options (a 30-day reorder horizon, as the hosting package runs it).
        var engine = new LeadScoringEngine(_model);
        foreach (var m in _messages)
        {
            engine.Apply(m);
        }

        return engine;
    }

    [Benchmark(OperationsPerInvoke = 22_000)]
    public LeadScoringEngine ApplyInOrderUnboundedHorizon()
    {
        // No reorder horizon, as `leadscore score` runs: every message kept, nothing folded.
        var engine = new LeadScoringEngine(_model, new LeadScoringEngineOptions { ReorderHorizon = null });
        foreach (var m in _messages)
        {
            engine.Apply(m);
        }

        return engine;
    }

    internal static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LeadScoring.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Run the benchmarks from inside the repository (LeadScoring.sln not found above " + AppContext.BaseDirectory + ").");
    }
}
