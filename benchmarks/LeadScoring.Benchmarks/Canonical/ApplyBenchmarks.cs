using BenchmarkDotNet.Attributes;
using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// canonical-workload.md §9.1, per in-order message apply with the profile known. Outside the timed region: the
/// model is compiled, the 1,100,000 messages are built in memory (§3 templates, via the <see cref="LeadMessage"/>
/// factories), and each iteration starts from "all 100,000 leads identified, no events" (a fresh engine to which
/// the identifies are applied; for the baseline, a fresh per-lead table). Timed: the first <see cref="N"/> page and
/// track messages applied one by one in file order. All figures are per message (OperationsPerInvoke = N).
/// After the runs each method's lead totals are checked against the §7 row for N.
/// </summary>
[Config(typeof(CanonicalConfig))]
[MemoryDiagnoser]
public class ApplyBenchmarks
{
    /// <summary>Events applied per iteration: all of them.</summary>
    public const int N = 1_000_000;

    private CanonicalWorkload _workload = null!;
    private CompiledModel _model = null!;
    private LeadMessage[] _identifies = [];
    private LeadMessage[] _events = [];
    private WorkloadEvent[] _baselineEvents = [];
    private HandWrittenBaseline _baseline = null!;
    private LeadScoringEngine _engine = null!;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _workload = CanonicalWorkload.Generate(N);
        _model = CanonicalWorkload.CompileModel();
        _identifies = _workload.IdentifyMessages();
        _events = _workload.EventMessages(N);
        _baselineEvents = _workload.Events;
    }

    [IterationSetup(Target = nameof(HandWritten))]
    public void SetupBaseline()
    {
        _baseline = new HandWrittenBaseline(CanonicalWorkload.LeadCount);
        _baseline.IdentifyAll(_workload);
        Settle();
    }

    [IterationSetup(Target = nameof(LeadScoringDefaultHorizon))]
    public void SetupDefaultHorizon() => SetupEngine(LeadScoringEngineOptions.Default.ReorderHorizon);

    [IterationSetup(Target = nameof(LeadScoringUnboundedHorizon))]
    public void SetupUnboundedHorizon() => SetupEngine(null);

    private void SetupEngine(TimeSpan? horizon)
    {
        _engine = null!;
        _engine = new LeadScoringEngine(_model, new LeadScoringEngineOptions { ReorderHorizon = horizon });
        foreach (var m in _identifies)
        {
            _engine.Apply(m);
        }

        Settle();
    }

    /// <summary>Collects the previous iteration's engine now rather than inside the timed region.</summary>
    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = N)]
    public int HandWritten()
    {
        var b = _baseline;
        var events = _baselineEvents;
        for (int j = 0; j < events.Length; j++)
        {
            b.Apply(in events[j]);
        }

        return events.Length;
    }

    [Benchmark(OperationsPerInvoke = N)]
    public int LeadScoringDefaultHorizon() => ApplyAll();

    [Benchmark(OperationsPerInvoke = N)]
    public int LeadScoringUnboundedHorizon() => ApplyAll();

    private int ApplyAll()
    {
        var engine = _engine;
        var events = _events;
        for (int j = 0; j < events.Length; j++)
        {
            engine.Apply(events[j]);
        }

        return events.Length;
    }

    [GlobalCleanup(Target = nameof(HandWritten))]
    public void CheckBaseline() =>
        CanonicalWorkload.Check("hand-written baseline, last iteration", N, CanonicalWorkload.Describe(_baseline.Totals()));

    [GlobalCleanup(Targets = [nameof(LeadScoringDefaultHorizon), nameof(LeadScoringUnboundedHorizon)])]
    public void CheckEngine()
    {
        if (_engine.Statistics.Applied != CanonicalWorkload.LeadCount + N || _engine.Statistics.Late != 0)
        {
            throw new InvalidOperationException($"the engine applied {_engine.Statistics.Applied:N0} messages ({_engine.Statistics.Late} late); expected {CanonicalWorkload.LeadCount + N:N0} in order");
        }

        CanonicalWorkload.Check($"LeadScoring (horizon {_engine.Options.ReorderHorizon?.ToString() ?? "unbounded"}), last iteration", N, CanonicalWorkload.Describe(_workload.Totals(_engine)));
    }
}
