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
/// engine's maps. The engine's per-message replay history (its index and the message store) is reported per
/// message, apart from the per-lead figure.
/// </summary>
public static class StateSizeTool
{
    private const int Leads = CanonicalWorkload.LeadCount;

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
        var notes = new List<string> { MeasureEngine(model) };

        // The smallest general form: a LeadState per lead in a map by id, no history.
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

    /// <summary>
    /// The engine, twice: with a history that keeps nothing (the rows and the engine's per-message index: lead state
    /// plus index), then with the default in-memory history. The index and the history are reported per message,
    /// the rest per lead. Nothing outlives the call.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static string MeasureEngine(CompiledModel model)
    {
        long zero = Total();
        var bare = RunEngine(model, new DiscardingHistory());
        long rowsAndIndex = Total() - zero;
        long index = bare.HistoryIndexBytes;
        Row("LeadScoringEngine, lead state (flat rows)", rowsAndIndex - index,
            string.Create(CultureInfo.InvariantCulture, $"id table (at most 80% full), hot row (48 B), cold row (32 B), counters and window heads (42 × 16 bits), 32 window times as whole seconds, pooled traits (the latest message id is not kept: the history tells it); row arrays grown by a quarter ({bare.RowCapacity:N0} rows for {Leads:N0} leads)"));
        GC.KeepAlive(bare);
        bare = null!;

        zero = Total();
        var full = RunEngine(model, null);
        long all = Total() - zero;
        GC.KeepAlive(full);
        const long Messages = CanonicalWorkload.EventCount + Leads;
        return string.Create(CultureInfo.InvariantCulture,
            $"replay history, per message (not in the per-lead figure): the engine's index {index / (double)Messages:F1} B (entry and hash slot, arrays grown by doubling); the default in-memory history {(all - rowsAndIndex) / (double)Messages:F1} B (the parsed message it keeps); the command-line tool keeps 8 B per message (its line in the file) instead");
    }

    /// <summary>A history that keeps nothing: for measuring what the engine itself holds (no message is read back on this stream).</summary>
    private sealed class DiscardingHistory : MessageHistory
    {
        private long _count;

        public override long Add(LeadMessage message) => _count++;

        public override LeadMessage Get(long handle) => throw new InvalidOperationException("the discarding history keeps nothing");
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
        Row("LeadScoring internals: id → LeadState map only (no rows, no history)", Total() - zero, "id string, map entry, LeadState with its arrays and traits dictionary");
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

    /// <summary>Builds and applies the messages one at a time, so none is held except by the engine.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static LeadScoringEngine RunEngine(CompiledModel model, MessageHistory? history)
    {
        var w = CanonicalWorkload.Generate();
        var engine = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = null }, history);
        for (int i = 0; i < Leads; i++)
        {
            engine.Apply(w.IdentifyMessage(i));
        }

        for (int j = 0; j < CanonicalWorkload.EventCount; j++)
        {
            engine.Apply(w.EventMessage(j));
        }

        CanonicalWorkload.Check("LeadScoringEngine", CanonicalWorkload.EventCount, CanonicalWorkload.Describe(w.Totals(engine)));
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
