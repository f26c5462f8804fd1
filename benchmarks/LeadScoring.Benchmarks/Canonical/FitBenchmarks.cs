using BenchmarkDotNet.Attributes;
using LeadScoring.Engine;
using LeadScoring.Messages;
using RulesEngine.Models;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// canonical-workload.md §9.4, fit per lead: the 12 fit rules over the 100,000 profiles; figures per lead
/// (OperationsPerInvoke = 100,000). Every method writes each lead's fit into one array, checked after the runs
/// against the §7 "no events" row (Σ 865,345).
/// <list type="bullet">
/// <item><b>HandWritten</b> (baseline): <see cref="HandWrittenBaseline.Fit"/> on the profile's fields (strings and an int).</item>
/// <item><b>LeadScoringEvaluate</b>: an engine holding the 100,000 identified leads (built in [GlobalSetup]);
/// timed: <c>engine.Evaluate(userId, asOf)["fit"]</c> per lead, i.e. the lead lookup, the 12 fit rules on the
/// traits, the (zero) shares of the 17 event rules, the composite <c>total</c>, and the <see cref="LeadResult"/>
/// it returns. LeadScoring evaluates trait rules when a lead is evaluated, not when its identify is applied, so
/// this is where its fit work is.</item>
/// <item><b>LeadScoringIdentifyAndEvaluate</b>: a fresh engine per iteration; timed: apply each lead's identify
/// message (slot, id map, traits dictionary) then Evaluate it: fit from a profile that arrives as a message.</item>
/// <item><b>LeadScoringBatchScore</b>: a fresh engine, the 100,000 identify messages applied, then <c>EvaluateAll</c>
/// (the batch form: ids, history, apply, evaluate).</item>
/// <item><b>RulesEngineTuned</b>, <b>RulesEngineDefaults</b>: Microsoft RulesEngine 6.0.1 (<see cref="RulesEnginePeer"/>),
/// <c>ExecuteAllRulesAsync</c> of the 12-rule <c>LeadFit</c> workflow per profile, the points of the successful
/// rules summed; with the settings of RulesEngine's own benchmark, then with the library defaults.</item>
/// <item><b>NRulesSession</b>: NRules 1.0.4 (<see cref="NRulesPeer"/>): per profile insert a fit fact into the
/// long-lived session, fire the 12 fit rules, retract it.</item>
/// </list>
/// </summary>
[Config(typeof(CanonicalConfig))]
[MemoryDiagnoser]
public class FitBenchmarks
{
    private const int Leads = CanonicalWorkload.LeadCount;

    private CanonicalWorkload _workload = null!;
    private CompiledModel _model = null!;
    private LeadMessage[] _identifies = [];
    private LeadScoringEngine _identified = null!;
    private LeadScoringEngine _scorer = null!;
    private int _fitIndex;
    private readonly int[] _fit = new int[Leads];
    private PeerProfile[] _profiles = [];
    private RulesEnginePeer _rulesEngine = null!;
    private NRulesPeer _nrules = null!;

    [GlobalSetup]
    public void GlobalSetup()
    {
        _workload = CanonicalWorkload.Generate(0);
        _model = CanonicalWorkload.CompileModel();
        _identifies = _workload.IdentifyMessages();
        _identified = new LeadScoringEngine(_model);
        _scorer = new LeadScoringEngine(_model);
        _fitIndex = _model.ScoreNames.IndexOf("fit");
        foreach (var m in _identifies)
        {
            _identified.Apply(m);
            _scorer.Apply(m);
        }
    }

    [GlobalSetup(Target = nameof(RulesEngineTuned))]
    public Task SetupRulesEngineTuned() => SetupRulesEngine(RulesEnginePeer.Tuned);

    [GlobalSetup(Target = nameof(RulesEngineDefaults))]
    public Task SetupRulesEngineDefaults() => SetupRulesEngine(null);

    private async Task SetupRulesEngine(ReSettings? settings)
    {
        _workload = CanonicalWorkload.Generate(0);
        _profiles = PeerProfile.All(_workload);
        _rulesEngine = new RulesEnginePeer(settings);
        await _rulesEngine.FitAsync(_profiles[0]);   // compiles the workflow's expressions
    }

    [GlobalSetup(Target = nameof(NRulesSession))]
    public void SetupNRules()
    {
        _workload = CanonicalWorkload.Generate(0);
        _profiles = PeerProfile.All(_workload);
        _nrules = new NRulesPeer();
    }

    [IterationSetup]
    public void IterationSetup()
    {
        Array.Clear(_fit);
        GC.Collect();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Leads)]
    public int HandWritten()
    {
        var w = _workload;
        string[] title = w.Title, industry = w.Industry, country = w.Country, domain = w.Domain;
        int[] size = w.Size;
        for (int i = 0; i < Leads; i++)
        {
            _fit[i] = HandWrittenBaseline.Fit(title[i], size[i], industry[i], country[i], domain[i]);
        }

        return _fit[^1];
    }

    [Benchmark(OperationsPerInvoke = Leads)]
    public int LeadScoringEvaluate()
    {
        var engine = _identified;
        string[] ids = _workload.UserIds;
        var asOf = CanonicalWorkload.AsOf;
        for (int i = 0; i < Leads; i++)
        {
            _fit[i] = (int)engine.Evaluate(ids[i], asOf)!["fit"];
        }

        return _fit[^1];
    }

    /// <summary><see cref="LeadScoringEngine.TryGetScore"/>: the fit score of each identified lead, no result object.</summary>
    [Benchmark(OperationsPerInvoke = Leads)]
    public int LeadScoringTryGetScore()
    {
        var scorer = _scorer;
        string[] ids = _workload.UserIds;
        var asOf = CanonicalWorkload.AsOf;
        int fit = _fitIndex;
        for (int i = 0; i < Leads; i++)
        {
            scorer.TryGetScore(ids[i], fit, asOf, out double value);
            _fit[i] = (int)value;
        }

        return _fit[^1];
    }

    [Benchmark(OperationsPerInvoke = Leads)]
    public int LeadScoringIdentifyAndEvaluate()
    {
        var engine = new LeadScoringEngine(_model);
        var identifies = _identifies;
        string[] ids = _workload.UserIds;
        var asOf = CanonicalWorkload.AsOf;
        for (int i = 0; i < Leads; i++)
        {
            engine.Apply(identifies[i]);
            _fit[i] = (int)engine.Evaluate(ids[i], asOf)!["fit"];
        }

        return _fit[^1];
    }

    [Benchmark(OperationsPerInvoke = Leads)]
    public int LeadScoringBatchScore()
    {
        var engine = new LeadScoringEngine(_model);
        foreach (var m in _identifies)
        {
            engine.Apply(m);
        }

        var results = engine.EvaluateAll(CanonicalWorkload.AsOf).ToList();
        for (int i = 0; i < Leads; i++)
        {
            _fit[i] = (int)results[i]["fit"];
        }

        return _fit[^1];
    }

    [Benchmark(OperationsPerInvoke = Leads)]
    public Task<int> RulesEngineTuned() => FitRulesEngine();

    [Benchmark(OperationsPerInvoke = Leads)]
    public Task<int> RulesEngineDefaults() => FitRulesEngine();

    private async Task<int> FitRulesEngine()
    {
        var re = _rulesEngine;
        var profiles = _profiles;
        for (int i = 0; i < Leads; i++)
        {
            _fit[i] = await re.FitAsync(profiles[i]);
        }

        return _fit[^1];
    }

    [Benchmark(OperationsPerInvoke = Leads)]
    public int NRulesSession()
    {
        var nrules = _nrules;
        var profiles = _profiles;
        for (int i = 0; i < Leads; i++)
        {
            _fit[i] = nrules.Fit(profiles[i]);
        }

        return _fit[^1];
    }

    [GlobalCleanup]
    public void Check() =>
        CanonicalWorkload.Check("fit of every lead, last iteration", 0, CanonicalWorkload.Describe(_fit));
}
