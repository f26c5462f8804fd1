using BenchmarkDotNet.Attributes;
using LeadScoring.Engine;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// Evaluate and explain per lead, after all 1,000,000 events: figures per lead (OperationsPerInvoke = 100,000), §9
/// job. Outside the timed region ([GlobalSetup]): a <see cref="LeadScoringEngine"/> to which the 1,100,000 messages were
/// applied (built one by one with the <c>LeadMessage</c> factories), and the hand-written baseline with the same
/// events. Timed: one call per lead, in <c>lead_id</c> order, writing the lead's <c>total</c> into an array that is
/// checked after the runs against the §7 row for all 1,000,000 events.
/// <list type="bullet">
/// <item><b>HandWritten</b> (baseline): what hand-written code does to answer "the score of lead L01234": turn the id
/// into its array index (the way it keys leads) and read the total from its per-lead struct.</item>
/// <item><b>Evaluate</b>: <c>scorer.Evaluate(id, asOf)</c> and the <c>total</c> of the <see cref="LeadResult"/>.</item>
/// <item><b>EvaluateExplain</b>: the same with <c>explain: true</c> (each rule's contribution, as <c>--explain</c>).</item>
/// <item><b>TryGetScore</b>: <c>scorer.TryGetScore(id, totalIndex, asOf, out value)</c>, no <see cref="LeadResult"/>.</item>
/// </list>
/// </summary>
[Config(typeof(CanonicalConfig))]
[MemoryDiagnoser]
public class EvaluateBenchmarks
{
    private const int Leads = CanonicalWorkload.LeadCount;
    private const int Events = CanonicalWorkload.EventCount;

    private CanonicalWorkload _workload = null!;
    private LeadScoringEngine _scorer = null!;
    private HandWrittenBaseline _baseline = null!;
    private int _total;
    private readonly int[] _totals = new int[Leads];

    [GlobalSetup]
    public void GlobalSetup()
    {
        _workload = CanonicalWorkload.Generate(Events);
        var model = CanonicalWorkload.CompileModel();
        _total = model.ScoreNames.IndexOf("total");
        _scorer = CanonicalJson.Scored(_workload, model, Events);
        _baseline = new HandWrittenBaseline(Leads);
        _baseline.IdentifyAll(_workload);
        foreach (ref readonly var e in _workload.Events.AsSpan())
        {
            _baseline.Apply(in e);
        }
    }

    [IterationSetup]
    public void IterationSetup()
    {
        Array.Clear(_totals);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Leads)]
    public int HandWritten()
    {
        var leads = _baseline.Leads;
        string[] ids = _workload.UserIds;
        for (int i = 0; i < Leads; i++)
        {
            _totals[i] = leads[CanonicalJson.LeadIndex(ids[i])].Total;
        }

        return _totals[^1];
    }

    [Benchmark(OperationsPerInvoke = Leads)]
    public int Evaluate()
    {
        var scorer = _scorer;
        string[] ids = _workload.UserIds;
        var asOf = CanonicalWorkload.AsOf;
        int total = _total;
        for (int i = 0; i < Leads; i++)
        {
            _totals[i] = (int)scorer.Evaluate(ids[i], asOf)!.ValueAt(total);
        }

        return _totals[^1];
    }

    [Benchmark(OperationsPerInvoke = Leads)]
    public int EvaluateExplain()
    {
        var scorer = _scorer;
        string[] ids = _workload.UserIds;
        var asOf = CanonicalWorkload.AsOf;
        int total = _total;
        for (int i = 0; i < Leads; i++)
        {
            _totals[i] = (int)scorer.Evaluate(ids[i], asOf, explain: true)!.ValueAt(total);
        }

        return _totals[^1];
    }

    [Benchmark(OperationsPerInvoke = Leads)]
    public int TryGetScore()
    {
        var scorer = _scorer;
        string[] ids = _workload.UserIds;
        var asOf = CanonicalWorkload.AsOf;
        int total = _total;
        for (int i = 0; i < Leads; i++)
        {
            scorer.TryGetScore(ids[i], total, asOf, out double value);
            _totals[i] = (int)value;
        }

        return _totals[^1];
    }

    [GlobalCleanup]
    public void Check() =>
        CanonicalWorkload.Check("total of every lead, last iteration", Events, CanonicalWorkload.Describe(_totals));
}
