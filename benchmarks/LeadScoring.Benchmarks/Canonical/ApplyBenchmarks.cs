using BenchmarkDotNet.Attributes;
using LeadScoring.Engine;
using LeadScoring.Messages;
using RulesEngine.Models;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// canonical-workload.md §9.1, per in-order message apply with the profile known. Outside the timed region: the
/// model is compiled, the 1,100,000 messages are built in memory (§3 templates, via the <see cref="LeadMessage"/>
/// factories), and each iteration starts from "all 100,000 leads identified, no events" (a fresh engine to which
/// the identifies are applied; for the baseline, a fresh per-lead table). Timed: the first <see cref="N"/> page and
/// track messages applied one by one in file order. All figures are per message (OperationsPerInvoke = N).
/// After the runs each method's lead totals are checked against the §7 row for N.
/// <para>
/// The peer rule engines of §8 (<see cref="RulesEnginePeer"/>, <see cref="NRulesPeer"/>) are slower than ~1 µs per
/// event, so, as §9.1 allows, they apply the first <see cref="PeerN"/> events (OperationsPerInvoke = PeerN, so the
/// figures stay per event and the ratios to the baseline meaningful) and are checked against the §7 row for
/// 200,000. Outside the timed region: the profiles and events as objects, the engine built, and each lead's fit
/// computed once by that engine (checked against §7's "no events" row); before every iteration, a fresh host state
/// per lead holding its fit, then a full GC.
/// </para>
[Config(typeof(CanonicalConfig))]
[MemoryDiagnoser]
public class ApplyBenchmarks
{
    /// <summary>Events applied per iteration: all of them.</summary>
    public const int N = 1_000_000;

    /// <summary>Events applied per iteration by the peer engines (§9.1: 200,000 for engines slower than ~1 µs/message).</summary>
    public const int PeerN = 200_000;

    private CanonicalWorkload _workload = null!;
    private CompiledModel _model = null!;
    private LeadMessage[] _identifies = [];
    private LeadMessage[] _events = [];
    private WorkloadEvent[] _baselineEvents = [];
    private HandWrittenBaseline _baseline = null!;
    private LeadScoringEngine _engine = null!;
    private LeadScorer _scorer = null!;
    private PeerProfile[] _profiles = [];
    private PeerEvent[] _peerEvents = [];
    private int[] _peerFit = [];
    private PeerLeadState[] _peerStates = [];
    private RulesEnginePeer _rulesEngine = null!;
    private NRulesPeer _nrules = null!;

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

    [IterationSetup(Target = nameof(LeadScorer))]
    public void SetupScorer()
    {
        _scorer = null!;
        _scorer = new LeadScorer(_model);
        foreach (var m in _identifies)
        {
            _scorer.Apply(m);
        }

        Settle();
    }

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

    [GlobalSetup(Target = nameof(RulesEngineTuned))]
    public Task SetupRulesEngineTuned() => SetupRulesEngine(RulesEnginePeer.Tuned);

    [GlobalSetup(Target = nameof(RulesEngineDefaults))]
    public Task SetupRulesEngineDefaults() => SetupRulesEngine(null);

    private async Task SetupRulesEngine(ReSettings? settings)
    {
        SetupPeerData();
        _rulesEngine = new RulesEnginePeer(settings);
        _peerFit = await _rulesEngine.FitAllAsync(_profiles);
        CanonicalWorkload.Check("RulesEngine fit, setup", 0, CanonicalWorkload.Describe(_peerFit));

        // RulesEngine compiles a workflow's expressions on its first execution: do it here, on a throwaway state.
        var e = _peerEvents[0];
        await _rulesEngine.ApplyAsync(e, _profiles[e.Lead], new PeerLeadState(0));
    }

    [GlobalSetup(Target = nameof(NRulesSession))]
    public void SetupNRules()
    {
        SetupPeerData();
        _nrules = new NRulesPeer();
        _peerFit = _nrules.FitAll(_profiles);
        CanonicalWorkload.Check("NRules fit, setup", 0, CanonicalWorkload.Describe(_peerFit));
    }

    private void SetupPeerData()
    {
        var w = CanonicalWorkload.Generate(PeerN);
        _profiles = PeerProfile.All(w);
        _peerEvents = PeerEvent.All(w, PeerN);
    }

    [IterationSetup(Targets = [nameof(RulesEngineTuned), nameof(RulesEngineDefaults), nameof(NRulesSession)])]
    public void SetupPeerStates()
    {
        _peerStates = [];
        _peerStates = PeerLeadState.Fresh(_peerFit);
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

    /// <summary>
    /// <see cref="Engine.LeadScorer"/>, the in-order scorer: flat rows, rules compiled to bit tests, one memo lookup
    /// per page view instead of seven substring searches.
    /// </summary>
    [Benchmark(OperationsPerInvoke = N)]
    public int LeadScorer()
    {
        var scorer = _scorer;
        var events = _events;
        for (int j = 0; j < events.Length; j++)
        {
            scorer.Apply(events[j]);
        }

        return events.Length;
    }

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

    /// <summary>Microsoft RulesEngine 6.0.1 with the settings of its own benchmark (<see cref="RulesEnginePeer.Tuned"/>).</summary>
    [Benchmark(OperationsPerInvoke = PeerN)]
    public Task<int> RulesEngineTuned() => ApplyRulesEngine();

    /// <summary>Microsoft RulesEngine 6.0.1 with the library's default <see cref="ReSettings"/>.</summary>
    [Benchmark(OperationsPerInvoke = PeerN)]
    public Task<int> RulesEngineDefaults() => ApplyRulesEngine();

    private async Task<int> ApplyRulesEngine()
    {
        var re = _rulesEngine;
        var events = _peerEvents;
        var profiles = _profiles;
        var states = _peerStates;
        for (int j = 0; j < events.Length; j++)
        {
            var e = events[j];
            await re.ApplyAsync(e, profiles[e.Lead], states[e.Lead]);
        }

        return events.Length;
    }

    /// <summary>NRules 1.0.4: per event insert a fact, fire, retract, in one long-lived session.</summary>
    [Benchmark(OperationsPerInvoke = PeerN)]
    public int NRulesSession()
    {
        var nrules = _nrules;
        var events = _peerEvents;
        var profiles = _profiles;
        var states = _peerStates;
        for (int j = 0; j < events.Length; j++)
        {
            var e = events[j];
            nrules.Apply(e, profiles[e.Lead], states[e.Lead]);
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

    [GlobalCleanup(Target = nameof(LeadScorer))]
    public void CheckScorer()
    {
        if (_scorer.Statistics.Applied != CanonicalWorkload.LeadCount + N || _scorer.Statistics.Late != 0 || !_scorer.UsesFlatRows)
        {
            throw new InvalidOperationException($"the scorer applied {_scorer.Statistics.Applied:N0} messages ({_scorer.Statistics.Late} late, flat rows: {_scorer.UsesFlatRows}); expected {CanonicalWorkload.LeadCount + N:N0} in order on flat rows");
        }

        CanonicalWorkload.Check("LeadScorer, last iteration", N, CanonicalWorkload.Describe(_workload.Totals(_scorer)));
    }

    [GlobalCleanup(Targets = [nameof(RulesEngineTuned), nameof(RulesEngineDefaults), nameof(NRulesSession)])]
    public void CheckPeer() =>
        CanonicalWorkload.Check(
            $"{(_nrules is null ? "RulesEngine" : "NRules")}, last iteration", PeerN, CanonicalWorkload.Describe(PeerLeadState.Totals(_peerStates)));
}
