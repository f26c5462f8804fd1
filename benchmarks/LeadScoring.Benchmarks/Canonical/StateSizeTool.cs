using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// <c>state-size</c>: canonical-workload.md §9.3, the managed bytes an engine retains per lead after all 1,100,000
/// messages, input buffers released: <c>GC.GetTotalMemory(true)</c> after the run minus the same with the model
/// compiled and no leads, divided by 100,000. Every figure includes the lead ids, the trait values and the
/// engine's maps. For LeadScoring, three reorder horizons, each then stripped (through reflection on engine
/// internals, for this measurement only) of its journal and then of its snapshots, to split the figure; plus the
/// average binary state size of <see cref="LeadScoringEngine.ExportLead"/>.
/// </summary>
public static class StateSizeTool
{
    private const int Leads = CanonicalWorkload.LeadCount;

    private static readonly FieldInfo SlotsField =
        typeof(LeadScoringEngine).GetField("_slots", BindingFlags.NonPublic | BindingFlags.Instance)
        ?? throw new InvalidOperationException("LeadScoringEngine._slots not found: update StateSizeTool");

    public static int Run()
    {
        Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}, {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")} GC");
        var model = CanonicalWorkload.CompileModel();
        _ = CanonicalWorkload.Expected(0); // static lists (titles, industries...) allocated before the zero point
        _ = HandWrittenBaseline.Fit("", 0, "", "", "");

        Console.WriteLine();
        Console.WriteLine("| engine | bytes per lead | what it holds |");
        Console.WriteLine("|---|---:|---|");

        MeasureBaseline();
        MeasureScorer(model);

        var notes = new List<string>();
        foreach (var (name, horizon) in new (string, TimeSpan?)[] { ("30-day horizon (default)", TimeSpan.FromDays(30)), ("unbounded horizon", null), ("zero horizon", TimeSpan.Zero) })
        {
            notes.Add(MeasureEngine(model, name, horizon));
        }

        // The smallest form: what LeadScoringBatch keeps per lead (a LeadState in a map by id).
        MeasureBareStates(model);
        var pieces = Pieces(model);
        Console.WriteLine();
        foreach (var n in notes)
        {
            Console.WriteLine("* " + n);
        }

        foreach (var (what, bytes) in pieces)
        {
            Console.WriteLine($"* {what}: {bytes:N0} B");
        }

        return 0;
    }

    /// <summary>One horizon: everything, then without the journal, then without the snapshots too. Nothing outlives the call.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string MeasureEngine(CompiledModel model, string name, TimeSpan? horizon)
    {
        long zero = Total();
        var engine = RunEngine(model, horizon);
        long full = Total() - zero;

        // Shape of what it keeps, from the public export (after the measurement: it allocates).
        long journal = 0, state = 0, baseState = 0, withBase = 0;
        foreach (var id in engine.LeadIds())
        {
            var s = engine.ExportLead(id)!;
            journal += s.Journal.Length;
            state += s.State.Length;
            if (s.BaseState is { IsEmpty: false } b)
            {
                baseState += b.Length;
                withBase++;
            }
        }

        var slots = (System.Collections.IEnumerable)SlotsField.GetValue(engine)!;
        int mids = 0;
        foreach (LeadSlot slot in slots)
        {
            mids += slot.Mid is null ? 0 : 1;
        }

        Row($"LeadScoring, {name}", full, $"everything: ids, slot, current state, snapshots (base {withBase / (double)Leads:P0} / mid {mids / (double)Leads:P0} of leads), journal of {journal / (double)Leads:F2} messages per lead");

        // Strip the journal, then the snapshots (the engine is not used afterwards).
        foreach (LeadSlot slot in slots)
        {
            slot.Journal.Clear();
            slot.Journal.TrimExcess();
            slot.ById.Clear();
            slot.ById.TrimExcess();
        }

        long noJournal = Total() - zero;
        Row($"LeadScoring, {name}, without journal", noJournal, $"journal: {(full - noJournal) / (double)Leads:N0} B per lead, {(full - noJournal) / (double)Math.Max(1, journal):F0} B per journaled message (message, list slot, de-dup map entry)");
        foreach (LeadSlot slot in slots)
        {
            slot.Base = null;
            slot.Mid = null;
        }

        long bare = Total() - zero;
        Row($"LeadScoring, {name}, without journal and snapshots", bare, "ids, slot (2 hash sets, empty journal list and map), current state with traits");
        GC.KeepAlive(engine);
        return $"{name}: ExportLead(id).State {state / (double)Leads:F1} B per lead on average; BaseState {(withBase == 0 ? 0 : baseState / (double)withBase):F1} B on average for the {withBase:N0} leads that have one";
    }

    private static void Row(string what, long bytes, string holds) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {what} | {bytes / (double)Leads:N0} | {holds} |"));

    private static long Total()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(true);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MeasureBaseline()
    {
        long zero = Total();
        var baseline = RunBaseline();
        Row("Hand-written baseline", Total() - zero, "20 B struct + 32 × 8 B ring (ids are array indexes, no strings)");
        GC.KeepAlive(baseline);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MeasureBareStates(CompiledModel model)
    {
        long zero = Total();
        var states = RunBareStates(model);
        Row("LeadScoring internals: id → LeadState map only (as LeadScoringBatch keeps)", Total() - zero, "id string, map entry, LeadState with its arrays and traits dictionary");
        GC.KeepAlive(states);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static HandWrittenBaseline RunBaseline()
    {
        var w = CanonicalWorkload.Generate();
        var b = new HandWrittenBaseline(Leads);
        b.IdentifyAll(w);
        foreach (ref readonly var e in w.Events.AsSpan())
        {
            b.Apply(e);
        }

        CanonicalWorkload.Check("hand-written baseline", CanonicalWorkload.EventCount, CanonicalWorkload.Describe(b.Totals()));
        return b;
    }

    /// <summary><see cref="LeadScorer"/>: flat rows, no journal, so there is nothing to strip.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MeasureScorer(CompiledModel model)
    {
        long zero = Total();
        var scorer = RunScorer(model);
        long full = Total() - zero;
        Row("LeadScorer (flat rows; keeps no journal)", full,
            "id table, hot row, cold row, counters and window heads (42 ints), 32 window times as whole seconds, pooled traits, last message id; arrays grown by doubling (131,072 rows for 100,000 leads)");
        GC.KeepAlive(scorer);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static LeadScorer RunScorer(CompiledModel model)
    {
        var w = CanonicalWorkload.Generate();
        var scorer = new LeadScorer(model);
        for (int i = 0; i < Leads; i++)
        {
            scorer.Apply(w.IdentifyMessage(i));
        }

        for (int j = 0; j < CanonicalWorkload.EventCount; j++)
        {
            scorer.Apply(w.EventMessage(j));
        }

        CanonicalWorkload.Check("LeadScorer", CanonicalWorkload.EventCount, CanonicalWorkload.Describe(w.Totals(scorer)));
        return scorer;
    }

    /// <summary>Builds and applies the messages one at a time, so none is held except by the engine.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static LeadScoringEngine RunEngine(CompiledModel model, TimeSpan? horizon)
    {
        var w = CanonicalWorkload.Generate();
        var engine = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = horizon });
        for (int i = 0; i < Leads; i++)
        {
            engine.Apply(w.IdentifyMessage(i));
        }

        for (int j = 0; j < CanonicalWorkload.EventCount; j++)
        {
            engine.Apply(w.EventMessage(j));
        }

        CanonicalWorkload.Check($"LeadScoring, horizon {horizon?.ToString() ?? "unbounded"}", CanonicalWorkload.EventCount, CanonicalWorkload.Describe(w.Totals(engine)));
        return engine;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Dictionary<string, LeadState> RunBareStates(CompiledModel model)
    {
        var w = CanonicalWorkload.Generate();
        var evaluator = new Evaluator(model, null);
        var states = new Dictionary<string, LeadState>(StringComparer.Ordinal);
        for (int i = 0; i < Leads; i++)
        {
            var m = w.IdentifyMessage(i);
            var s = states[m.UserId!] = new LeadState(model);
            evaluator.Apply(s, m);
        }

        for (int j = 0; j < CanonicalWorkload.EventCount; j++)
        {
            var m = w.EventMessage(j);
            evaluator.Apply(states[m.UserId!], m);
        }

        return states;
    }

    /// <summary>Sizes of single objects, to read the table: retained bytes of 10,000 of each, divided.</summary>
    private static List<(string, long)> Pieces(CompiledModel model)
    {
        var w = CanonicalWorkload.Generate(20_000);
        int page = Array.FindIndex(w.Events, e => e.Type == EventType.PageView);
        int track = Array.FindIndex(w.Events, e => e.Type != EventType.PageView);
        const int K = 10_000;
        var list = new List<(string, long)>
        {
            ("page message (LeadMessage, id string, properties object with its url value; url string and userId shared)", Each(() => w.EventMessage(page))),
            ("track message (LeadMessage, id string; name and userId shared)", Each(() => w.EventMessage(track))),
            ("empty LeadState of this model (2 counters per event rule = 34 ints, 32-slot ring, 8 ring heads)", Each(() => new LeadState(model))),
            ("empty LeadSlot (its Ids and Groups hash sets, journal list, de-dup map and an empty current LeadState)", Each(() => new LeadSlot(model))),
            ("a lead's traits dictionary with its 5 trait values (dictionary, 5 DataValues, the domain string)", Each(() => Traits(w, 0))),
            ("identify message (LeadMessage, id string, traits object: keys, values, 5 DataValues, domain string)", Each(() => w.IdentifyMessage(0))),
        };
        return list;

        static Dictionary<string, DataValue> Traits(CanonicalWorkload w, int i)
        {
            var m = w.IdentifyMessage(i);
            var d = new Dictionary<string, DataValue>(StringComparer.Ordinal);
            foreach (var (k, v) in m.Traits!.Pairs())
            {
                d[k] = v;
            }

            return d;
        }

        static long Each(Func<object> make)
        {
            var keep = new object[K];
            long before = Total();
            for (int i = 0; i < K; i++)
            {
                keep[i] = make();
            }

            long after = Total();
            GC.KeepAlive(keep);
            return (after - before) / K;
        }
    }
}
