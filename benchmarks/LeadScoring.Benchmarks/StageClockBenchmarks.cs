using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Benchmarks;

/// <summary>
/// One tick of the stage clock (issue 11) on 1,000,000 leads, 100,000 of them in MQL: the tick at which
/// <see cref="Leaving"/> of the MQLs leave (1,000 = 1% of the MQLs; 10,000 = 1% of all leads). The model is the
/// contract's example of section 3.4 (engagement with a 10-day half-life; mql entered at 30, left below 10) with a
/// 5-point page view beside the 40-point demo; the default clock of 24 hours.
/// <list type="bullet">
/// <item><b>EveryLead</b> (baseline): what a tick costs without the timer queue: every lead evaluated at the tick.</item>
/// <item><b>Tick</b>: what the host does at a tick (<c>ScoringPipeline.Clock.cs</c>, without the store):
/// <see cref="LeadScoringEngine.TakeDueLeads"/>, then each lead due evaluated at the tick.</item>
/// <item><b>TakeDueLeads</b>: the timer queue alone: pop the due leads, work out each one's next move.</item>
/// </list>
/// Per due lead: divide by <see cref="Leaving"/>. The timer's memory per lead (the queue and its per-lead flags, after
/// the first call examined every lead) and the first call's time are written to the log by the setup.
/// </summary>
[MemoryDiagnoser]
public class StageClockBenchmarks
{
    private const int Leads = 1_000_000;
    private const int Mqls = 100_000;

    /// <summary>The tick measured: midnight UTC, 1 November 2026.</summary>
    private static readonly DateTimeOffset Midnight = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    private LeadScoringEngine _engine = null!;
    private string[] _ids = [];
    private string[] _leaving = [];

    /// <summary>How many leads leave MQL at the tick.</summary>
    [Params(1_000, 10_000)]
    public int Leaving { get; set; }

    [GlobalSetup]
    public void GlobalSetup()
    {
        var model = CompiledModel.Compile(ScoringModelLoader.Load("""
            {
              "name": "clock-bench", "version": "1",
              "scores": [ { "name": "engagement", "halfLifeDays": 10 } ],
              "rules": [
                { "id": "demo", "score": "engagement", "points": 40, "on": "Demo Requested" },
                { "id": "visit", "score": "engagement", "points": 5, "on": "$page" }
              ],
              "stages": [
                { "name": "lead" },
                { "name": "mql", "enter": { "field": "scores.engagement", "op": "gte", "value": 30 },
                  "exit": { "field": "scores.engagement", "op": "lt", "value": 10 } }
              ]
            }
            """).GetModelOrThrow());

        // A demo leaves mql at the first midnight more than 20 days after it (40 * 2^(-d/10) < 10 for d > 20): the
        // leads leaving at the tick requested a demo on 11 October, the other MQLs on the 19 days after it; the leads
        // that are no MQL viewed a page (5 points) in October. Every 10th lead is an MQL, and the leads leaving are
        // spread evenly among the MQLs (as a real population's would be among the rows).
        _engine = new LeadScoringEngine(model, new LeadScoringEngineOptions { ExpectedMessages = Leads });
        _ids = new string[Leads];
        var leavingDay = Midnight.AddDays(-21);
        var rng = new Random(11);
        var leaving = new List<string>(Leaving);
        for (int i = 0; i < Leads; i++)
        {
            string id = _ids[i] = "u" + i.ToString("D7", System.Globalization.CultureInfo.InvariantCulture);
            var seconds = TimeSpan.FromSeconds(1 + rng.Next(86_000));
            if (i % (Leads / Mqls) == 0 && i / (Leads / Mqls) % (Mqls / Leaving) == 0)
            {
                _engine.Apply(LeadMessage.Track("d" + id, id, "Demo Requested", leavingDay + seconds));
                leaving.Add(id);
            }
            else if (i % (Leads / Mqls) == 0)
            {
                _engine.Apply(LeadMessage.Track("d" + id, id, "Demo Requested", leavingDay.AddDays(1 + rng.Next(19)) + seconds));
            }
            else
            {
                _engine.Apply(LeadMessage.Page("p" + id, id, Midnight.AddDays(-1 - rng.Next(30)) + seconds));
            }
        }

        _leaving = [.. leaving];

        // The first call examines every lead (a host's first tick after start); nothing is due before the tick.
        var clock = Stopwatch.StartNew();
        int early = _engine.TakeDueLeads(Midnight.AddDays(-1)).Count;
        clock.Stop();
        if (early != 0)
        {
            throw new InvalidOperationException($"{early} lead(s) due before the tick");
        }

        Console.WriteLine($"// stage clock: first call (every lead examined) {clock.Elapsed.TotalMilliseconds:F0} ms; timer memory {_engine.ClockBytes:N0} B = {(double)_engine.ClockBytes / Leads:F2} B per lead ({Leads:N0} leads, {Mqls:N0} in mql, {Leaving:N0} leaving at {Midnight:O})");
    }

    /// <summary>Puts the leads that left back in the queue at the tick (its time as the engine worked it out), outside the timed region.</summary>
    [IterationSetup(Targets = new[] { nameof(Tick), nameof(TakeDueLeads) })]
    public void IterationSetup()
    {
        foreach (var id in _leaving)
        {
            _engine.ScheduleClockAt(id, Midnight);
        }
    }

    [Benchmark(Baseline = true)]
    public int EveryLead()
    {
        int left = 0;
        foreach (var id in _ids)
        {
            left += _engine.Evaluate(id, Midnight)!.StageHistory is { Length: > 1 } h && h[^1].At == Midnight ? 1 : 0;
        }

        return Check(left);
    }

    [Benchmark]
    public int Tick()
    {
        int left = 0;
        foreach (var id in _engine.TakeDueLeads(Midnight))
        {
            left += _engine.Evaluate(id, Midnight)!.StageHistory[^1] == new StageMove("mql", "lead", Midnight) ? 1 : 0;
        }

        return Check(left);
    }

    [Benchmark]
    public int TakeDueLeads() => Check(_engine.TakeDueLeads(Midnight).Count);

    private int Check(int left) => left == Leaving ? left : throw new InvalidOperationException($"{left} lead(s) left mql at the tick, not {Leaving}");
}
