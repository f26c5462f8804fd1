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
    private LeadMessage[] _shaped = [];
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
        _shaped = SampleShaped(_workload, _events, seed: 20261202);
    }

    /// <summary>
    /// The same events as a stream shaped like the bundled sample: 2% of the events arrive late (just after their lead's
    /// next message, up to 1,000 messages further), 1.5% are sent twice (a retry, 1 to 50,000 messages later), and 1% of the leads first act anonymously (their first event) and are then linked by an identify carrying
    /// both ids (a merge of two leads with history). Identifies without traits change no score, and duplicates and
    /// late messages are counted exactly, so the section 7 totals still hold.
    /// </summary>
    internal static LeadMessage[] SampleShaped(CanonicalWorkload w, LeadMessage[] events, int seed)
    {
        var random = new Random(seed);
        var anonymous = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < CanonicalWorkload.LeadCount; i += 100)
        {
            anonymous.Add(w.UserIds[i]);
        }

        // 1. Anonymous activity: the first event of 1% of the leads carries only an anonymous id; an identify with both
        //    ids follows it, linking two leads with history (the known lead has its identify).
        var stream = new List<LeadMessage>(events.Length + (events.Length / 20));
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int k = 0; k < events.Length; k++)
        {
            var m = events[k];
            if (anonymous.Contains(m.UserId!) && seen.TryAdd(m.UserId!, 1))
            {
                string anon = "anon-" + m.UserId;
                stream.Add(m.Type == MessageType.Page
                    ? LeadMessage.Page(m.MessageId, null!, m.Timestamp, new Dictionary<string, object?> { ["url"] = w.Events[k].Url }, anon)
                    : LeadMessage.Track(m.MessageId, null!, m.Event!, m.Timestamp, null, anon));
                stream.Add(LeadMessage.Identify("link-" + m.UserId, m.UserId!, m.Timestamp.AddSeconds(1), null, anon));

                continue;
            }

            stream.Add(m);
        }

        // 2. Late: 2% of the messages arrive just after their lead's next message (up to 1,000 places further).
        //    3. Retries: 1.5% are sent again, 1 to 50,000 places later.
        var next = new int[stream.Count];
        var lastSeen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = stream.Count - 1; i >= 0; i--)
        {
            string lead = stream[i].UserId ?? stream[i].AnonymousId!;
            next[i] = lastSeen.TryGetValue(lead, out int n) ? n : -1;
            lastSeen[lead] = i;
        }

        var result = new List<LeadMessage>(stream.Count + (stream.Count / 50));
        var pending = new SortedDictionary<int, List<LeadMessage>>();
        for (int i = 0; i < stream.Count; i++)
        {
            var m = stream[i];
            double roll = random.NextDouble();
            if (roll < 0.02 && next[i] > i && m.Type != MessageType.Identify)
            {
                Later(pending, next[i] + random.Next(0, 1_000), m);
            }
            else
            {
                result.Add(m);
                if (roll < 0.035)
                {
                    Later(pending, i + random.Next(1, 50_000), m);
                }
            }

            if (pending.Remove(i, out var due))
            {
                result.AddRange(due);
            }
        }

        foreach (var due in pending.Values)
        {
            result.AddRange(due);
        }

        return [.. result];

        static void Later(SortedDictionary<int, List<LeadMessage>> pending, int at, LeadMessage m)
        {
            if (!pending.TryGetValue(at, out var list))
            {
                pending[at] = list = [];
            }

            list.Add(m);
        }
    }

    [IterationSetup(Target = nameof(HandWritten))]
    public void SetupBaseline()
    {
        _baseline = new HandWrittenBaseline(CanonicalWorkload.LeadCount);
        _baseline.IdentifyAll(_workload);
        Settle();
    }

    [IterationSetup(Targets = [nameof(LeadScoring), nameof(LeadScoringBatched), nameof(LeadScoringSampleShaped), nameof(LeadScoringSampleShapedBatched)])]
    public void SetupEngine()
    {
        // As `leadscore score` runs it: no reorder horizon (every message kept, exact for any order), with room made
        // for the messages to come (the default in-memory history and the index, sized up front: 0 B per message).
        _engine = null!;
        _engine = new LeadScoringEngine(_model, new LeadScoringEngineOptions { ReorderHorizon = null, ExpectedMessages = _identifies.Length + _shaped.Length });
        foreach (var m in _identifies)
        {
            _engine.Apply(m);
        }

        Settle();
    }

    [IterationSetup(Target = nameof(LeadScoringBatchedDefaultOptions))]
    public void SetupEngineWithDefaultOptions()
    {
        // The engine's defaults, as the hosting package runs it: a 30-day reorder horizon, so each lead's older messages
        // are folded into its base state as it goes; room made up front for the messages, as above.
        _engine = null!;
        _engine = new LeadScoringEngine(_model, new LeadScoringEngineOptions { ExpectedMessages = _identifies.Length + _shaped.Length });
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

    /// <summary>
    /// The engine on the in-order stream: flat rows, rules compiled to bit tests, one memo lookup per page view
    /// instead of seven substring searches, and every message kept in the history for replays.
    /// </summary>
    [Benchmark(OperationsPerInvoke = N)]
    public int LeadScoring() => ApplyAll(_events);

    /// <summary>
    /// The engine on the same events shaped like the sample (<see cref="SampleShaped"/>): late messages, retries and
    /// merges replay the leads concerned. Per message of the shaped stream (about 1.5% more messages than
    /// <see cref="N"/>); compare its time per message with <see cref="LeadScoring"/>'s.
    /// </summary>
    [Benchmark(OperationsPerInvoke = ShapedCount)]
    public int LeadScoringSampleShaped()
    {
        // The engine replays at once (its default), so every late message, earlier copy and merge is paid for here.
        return ApplyAll(_shaped);
    }

    /// <summary>The number of messages of the shaped stream (checked in setup): OperationsPerInvoke needs a constant.</summary>
    public const int ShapedCount = 1_018_054;

    /// <summary>
    /// The same events through the batch apply (<see cref="LeadScoringEngine.Apply(ReadOnlySpan{LeadMessage}, Span{ApplyOutcome})"/>),
    /// in batches of <see cref="Batch"/>: the engine fetches the rows of the messages ahead while it applies one.
    /// </summary>
    [Benchmark(OperationsPerInvoke = N)]
    public int LeadScoringBatched() => ApplyBatched(_events);

    /// <summary>
    /// <see cref="LeadScoringBatched"/> with the engine's default options: the 30-day reorder horizon folds each lead's
    /// older messages into its base state (a row of its own) as it goes, so the history holds about a horizon of
    /// messages per lead rather than all of them.
    /// </summary>
    [Benchmark(OperationsPerInvoke = N)]
    public int LeadScoringBatchedDefaultOptions() => ApplyBatched(_events);

    /// <summary>The sample-shaped stream through the batch apply.</summary>
    [Benchmark(OperationsPerInvoke = ShapedCount)]
    public int LeadScoringSampleShapedBatched() => ApplyBatched(_shaped);

    /// <summary>Messages per batch call: what a host reading a file or a queue hands over at once.</summary>
    public const int Batch = 1_024;

    private readonly ApplyOutcome[] _outcomes = new ApplyOutcome[Batch];

    private int ApplyBatched(LeadMessage[] events)
    {
        var engine = _engine;
        for (int j = 0; j < events.Length; j += Batch)
        {
            var batch = events.AsSpan(j, Math.Min(Batch, events.Length - j));
            engine.Apply(batch, _outcomes);
        }

        return events.Length;
    }

    private int ApplyAll(LeadMessage[] events)
    {
        var engine = _engine;
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

    [GlobalCleanup(Targets = [nameof(LeadScoring), nameof(LeadScoringBatched), nameof(LeadScoringBatchedDefaultOptions)])]
    public void CheckEngine()
    {
        if (_engine.Statistics.Applied != CanonicalWorkload.LeadCount + N || _engine.Statistics.Late != 0 || !_engine.UsesFlatRows)
        {
            throw new InvalidOperationException($"the engine applied {_engine.Statistics.Applied:N0} messages ({_engine.Statistics.Late} late, flat rows: {_engine.UsesFlatRows}); expected {CanonicalWorkload.LeadCount + N:N0} in order on flat rows");
        }

        if (_engine.Options.ReorderHorizon is not null)
        {
            // The default options: the point is the folding, so it must have happened.
            var (leads, baseRows) = _engine.FoldedLeads;
            if (baseRows == 0 || baseRows != leads)
            {
                throw new InvalidOperationException($"{leads:N0} leads folded messages, {baseRows:N0} of them into base rows: expected folding into base rows");
            }

            Console.WriteLine($"// default options: {leads:N0} leads folded older messages into their base rows; index {_engine.HistoryIndexBytes / (double)_engine.Statistics.Applied:F1} B per message");
        }

        CanonicalWorkload.Check("LeadScoring, in order, last iteration", N, CanonicalWorkload.Describe(_workload.Totals(_engine)));
    }

    [GlobalCleanup(Targets = [nameof(LeadScoringSampleShaped), nameof(LeadScoringSampleShapedBatched)])]
    public void CheckShaped()
    {
        var s = _engine.Statistics;
        if (_shaped.Length != ShapedCount || s.Late == 0 || s.Duplicates == 0 || s.Merges == 0)
        {
            throw new InvalidOperationException($"the shaped stream has {_shaped.Length:N0} messages (expected {ShapedCount:N0}); late {s.Late}, duplicates {s.Duplicates}, merges {s.Merges}: every kind must occur");
        }

        Console.WriteLine($"// shaped stream: {_shaped.Length:N0} messages, late {s.Late:N0}, duplicates {s.Duplicates:N0}, merges {s.Merges:N0}, replays {s.Replays:N0}");
        CanonicalWorkload.Check("LeadScoring, sample-shaped stream, last iteration", N, CanonicalWorkload.Describe(_workload.Totals(_engine)));
    }

    [GlobalCleanup(Targets = [nameof(RulesEngineTuned), nameof(RulesEngineDefaults), nameof(NRulesSession)])]
    public void CheckPeer() =>
        CanonicalWorkload.Check(
            $"{(_nrules is null ? "RulesEngine" : "NRules")}, last iteration", PeerN, CanonicalWorkload.Describe(PeerLeadState.Totals(_peerStates)));
}
