using System.Diagnostics;
using System.Globalization;
using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// <c>breakdown</c>: where the apply time goes, by stopwatch on variants (not a BenchmarkDotNet run: each variant
/// is applied to all 1,000,000 events, 5 times, and the median is printed, with the bytes allocated per event).
/// The model variants drop rules from the §6 model, so their totals differ from §7 by design. <c>breakdown profile
/// [unbounded] [batched]</c> only loops the engine's apply (for <c>perf record</c> with <c>DOTNET_PerfMapEnabled=1</c>).
/// </summary>
public static class BreakdownTool
{
    private const int Runs = 3;

    public static int Run(string[] args)
    {
        var w = CanonicalWorkload.Generate();
        var identifies = w.IdentifyMessages();
        var events = w.EventMessages(CanonicalWorkload.EventCount);
        var full = CanonicalWorkload.CompileModel();

        if (args.Length > 0 && args[0] == "profile")
        {
            TimeSpan? horizon = args.Length > 1 && args[1] == "unbounded" ? null : TimeSpan.FromDays(30);
            bool batched = args.Contains("batched");
            if (args.Contains("shaped"))
            {
                // The sample-shaped stream of ApplyBenchmarks (late messages, copies, merges), replayed at once.
                events = ApplyBenchmarks.SampleShaped(w, events, seed: 20261202);
            }

            Console.WriteLine($"profile: 10 × 1,000,000 events, horizon {horizon?.ToString() ?? "unbounded"}{(batched ? ", batch apply" : "")}");
            for (int r = 0; r < 10; r++)
            {
                var (ns, bytes) = Engine(full, horizon, identifies, events, batched: batched, sized: batched);
                if (args.Contains("baseline"))
                {
                    // The hand-written baseline right after, on the same events: the ratio within one round.
                    var (baseNs, _) = Baseline(w);
                    Console.WriteLine($"{ns:F1} ns/event, {bytes:F1} B/event; baseline {baseNs:F1} ns/event, ratio {ns / baseNs:F2}");
                    continue;
                }

                Console.WriteLine($"{ns:F1} ns/event, {bytes:F1} B/event");
            }

            return 0;
        }

        Console.WriteLine($"{Environment.ProcessorCount} cores, .NET {Environment.Version}; median of {Runs} runs over 1,000,000 events; wall-clock ns, process CPU ns (less sensitive to other load on the machine), GC pause ns (GC.GetTotalPauseDuration) and allocated bytes per event; load average {File.ReadAllText("/proc/loadavg").Trim()}");
        Console.WriteLine();
        Console.WriteLine("| variant | wall ns/event (median) | wall ns/event (best) | CPU ns/event (median) | GC pause ns/event (median) | B/event |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|");

        Print("hand-written baseline", Median(() => Baseline(w)));
        Print("LeadScoring, 30-day horizon (default)", Median(() => Engine(full, TimeSpan.FromDays(30), identifies, events)));
        Print("LeadScoring, unbounded horizon", Median(() => Engine(full, null, identifies, events)));
        Print("LeadScoring, zero horizon", Median(() => Engine(full, TimeSpan.Zero, identifies, events)));

        Print("LeadScoring, 30-day horizon, only events 800,000-999,999 timed (leads already warm)", Median(() => Engine(full, TimeSpan.FromDays(30), identifies, events, 800_000)));
        Print("LeadScoring, unbounded horizon, only events 800,000-999,999 timed", Median(() => Engine(full, null, identifies, events, 800_000)));

        var noRules = Variant(_ => false);
        var noPage = Variant(id => !IsPageRule(id));
        var noE14 = Variant(id => id != "E14");
        Print("model without rules, 30-day horizon (engine overhead: ids, de-dup map, journal, snapshots)", Median(() => Engine(noRules, TimeSpan.FromDays(30), identifies, events)));
        Print("model without rules, unbounded horizon", Median(() => Engine(noRules, null, identifies, events)));
        Print("model without rules, zero horizon", Median(() => Engine(noRules, TimeSpan.Zero, identifies, events)));
        Print("model without the 7 page rules (E01-E06, E14), 30-day horizon", Median(() => Engine(noPage, TimeSpan.FromDays(30), identifies, events)));
        Print("model without E14 (the page rule that reads traits), 30-day horizon", Median(() => Engine(noE14, TimeSpan.FromDays(30), identifies, events)));

        // Pieces of the apply path, in isolation, on the same data.
        Print("piece: 3 ordinal dictionary operations on the userId + 1 lookup, 1 add, 1 remove on messageId per event", Median(() => Dictionaries(w, events)));
        Print("piece: 7 case-insensitive url Contains per page view (E01-E06, E14), averaged over all events", Median(() => Contains(events, w, StringComparison.OrdinalIgnoreCase)));
        Print("piece: the same 7 Contains, ordinal", Median(() => Contains(events, w, StringComparison.Ordinal)));
        Console.WriteLine($"load average at the end: {File.ReadAllText("/proc/loadavg").Trim()}");
        return 0;
    }

    private static bool IsPageRule(string id) => id is "E01" or "E02" or "E03" or "E04" or "E05" or "E06" or "E14";

    private static void Print(string what, (double Ns, double Best, double Cpu, double Gc, double Bytes) r) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {what} | {r.Ns:F0} | {r.Best:F0} | {r.Cpu:F0} | {r.Gc:F0} | {r.Bytes:F1} |"));

    /// <summary>Medians of wall-clock ns, process CPU ns and bytes per event over <see cref="Runs"/> runs.</summary>
    private static (double, double, double, double, double) Median(Func<(double Ns, double Bytes)> run)
    {
        var wall = new List<double>();
        var cpu = new List<double>();
        var gc = new List<double>();
        var bytes = new List<double>();
        for (int i = 0; i < Runs; i++)
        {
            var (ns, b) = run();
            wall.Add(ns);
            cpu.Add(_cpuPerEvent);
            gc.Add(_gcPerEvent);
            bytes.Add(b);
        }

        wall.Sort();
        cpu.Sort();
        gc.Sort();
        bytes.Sort();
        return (wall[Runs / 2], wall[0], cpu[Runs / 2], gc[Runs / 2], bytes[Runs / 2]);
    }

    private static TimeSpan _cpuStart;
    private static TimeSpan _gcStart;
    private static double _cpuPerEvent;
    private static double _gcPerEvent;

    /// <summary>Marks the start of the timed region: process CPU time is read here and in <see cref="Per"/>.</summary>
    private static void StartCpu()
    {
        var p = Process.GetCurrentProcess();
        _cpuStart = p.TotalProcessorTime;
        _gcStart = GC.GetTotalPauseDuration();
    }

    /// <summary>The §6 model keeping only the rules whose 3-character id prefix <paramref name="keep"/> accepts.</summary>
    private static CompiledModel Variant(Func<string, bool> keep)
    {
        var lines = CanonicalWorkload.ModelJson.Split('\n');
        var rules = lines.Where(l => l.TrimStart().StartsWith("{\"id\"", StringComparison.Ordinal)).Select(l => l.TrimEnd().TrimEnd(',')).ToList();
        var kept = rules.Where(l => keep(l.TrimStart()[7..10])).ToList();
        var head = lines.TakeWhile(l => !l.TrimStart().StartsWith("{\"id\"", StringComparison.Ordinal));
        string json = string.Join('\n', head) + "\n" + string.Join(",\n", kept) + "\n  ]\n}\n";
        return CompiledModel.Compile(Model.ScoringModelLoader.Load(json).GetModelOrThrow());
    }

    private static void Settle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private static (double, double) Baseline(CanonicalWorkload w)
    {
        var b = new HandWrittenBaseline(CanonicalWorkload.LeadCount);
        b.IdentifyAll(w);
        var ev = w.Events;
        Settle();
        long a0 = GC.GetAllocatedBytesForCurrentThread();
        StartCpu();
        var sw = Stopwatch.StartNew();
        for (int j = 0; j < ev.Length; j++)
        {
            b.Apply(in ev[j]);
        }

        sw.Stop();
        return Per(sw, GC.GetAllocatedBytesForCurrentThread() - a0, ev.Length);
    }

    /// <summary>Applies the identifies and the events before <paramref name="from"/> untimed, then times the rest.</summary>
    private static (double, double) Engine(CompiledModel model, TimeSpan? horizon, LeadMessage[] identifies, LeadMessage[] events, int from = 0, bool batched = false, bool sized = false)
    {
        // sized: room made up front for every message, as ApplyBenchmarks and `leadscore score` do (0 B per message).
        var engine = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = horizon, ExpectedMessages = sized ? identifies.Length + events.Length : 1024 });
        foreach (var m in identifies)
        {
            engine.Apply(m);
        }

        for (int j = 0; j < from; j++)
        {
            engine.Apply(events[j]);
        }

        Settle();
        long a0 = GC.GetAllocatedBytesForCurrentThread();
        StartCpu();
        long t0 = Stopwatch.GetTimestamp();
        var sw = Stopwatch.StartNew();
        if (batched)
        {
            var outcomes = new ApplyOutcome[ApplyBenchmarks.Batch];
            for (int j = from; j < events.Length; j += ApplyBenchmarks.Batch)
            {
                engine.Apply(events.AsSpan(j, Math.Min(ApplyBenchmarks.Batch, events.Length - j)), outcomes);
            }
        }
        else
        {
            for (int j = from; j < events.Length; j++)
            {
                engine.Apply(events[j]);
            }
        }

        sw.Stop();
        if (sized)
        {
            // The timed region on the monotonic clock, to pick its samples out of `perf record -k CLOCK_MONOTONIC`.
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"window {t0 * 1e9 / Stopwatch.Frequency:F0} {Stopwatch.GetTimestamp() * 1e9 / Stopwatch.Frequency:F0}"));
        }

        return Per(sw, GC.GetAllocatedBytesForCurrentThread() - a0, events.Length - from);
    }

    private static (double, double) Per(Stopwatch sw, long bytes, int n)
    {
        var p = Process.GetCurrentProcess();
        _cpuPerEvent = (p.TotalProcessorTime - _cpuStart).TotalNanoseconds / n;
        _gcPerEvent = (GC.GetTotalPauseDuration() - _gcStart).TotalNanoseconds / n;
        return (sw.Elapsed.TotalNanoseconds / n, bytes / (double)n);
    }

    /// <summary>The engine's map work per in-order message: Link (TryGetValue) and Claim (ContainsKey) on the userId, the lead's de-dup map.</summary>
    private static (double, double) Dictionaries(CanonicalWorkload w, LeadMessage[] events)
    {
        var byId = new Dictionary<string, object>(StringComparer.Ordinal);
        var perLead = new Dictionary<string, LeadMessage>[CanonicalWorkload.LeadCount];
        for (int i = 0; i < CanonicalWorkload.LeadCount; i++)
        {
            byId[w.UserIds[i]] = perLead[i] = new Dictionary<string, LeadMessage>(StringComparer.Ordinal);
        }

        Settle();
        long a0 = GC.GetAllocatedBytesForCurrentThread();
        StartCpu();
        var sw = Stopwatch.StartNew();
        for (int j = 0; j < events.Length; j++)
        {
            var m = events[j];
            byId.TryGetValue(m.UserId!, out var slot);
            _ = byId.ContainsKey(m.UserId!);
            _ = byId.ContainsKey(m.UserId!);
            var map = (Dictionary<string, LeadMessage>)slot!;
            map.TryGetValue(m.MessageId, out _);
            map[m.MessageId] = m;
            if (map.Count > 8)
            {
                map.Remove(m.MessageId);
            }
        }

        sw.Stop();
        return Per(sw, GC.GetAllocatedBytesForCurrentThread() - a0, events.Length);
    }

    private static (double, double) Contains(LeadMessage[] events, CanonicalWorkload w, StringComparison comparison)
    {
        string[] needles = ["/pricing", "/docs", "/case-studies", "/careers", "/blog", "/integrations", "/pricing"];
        var ev = w.Events;
        Settle();
        int hits = 0;
        StartCpu();
        var sw = Stopwatch.StartNew();
        for (int j = 0; j < ev.Length; j++)
        {
            if (ev[j].Url is { } url)
            {
                foreach (var n in needles)
                {
                    hits += url.Contains(n, comparison) ? 1 : 0;
                }
            }
        }

        sw.Stop();
        GC.KeepAlive(hits);
        GC.KeepAlive(events);
        return Per(sw, 0, ev.Length);
    }
}
