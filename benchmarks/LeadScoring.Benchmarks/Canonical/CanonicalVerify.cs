using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// <c>--verify</c>: checks the in-memory workload against canonical-workload.md (model.json and messages.jsonl
/// SHA-256, §7 checksums of the hand-written baseline, of LeadScoring and of the peer engines (RulesEngine tuned and
/// with defaults, NRules) at 0 / 20,000 / 100,000 / 200,000 / 1,000,000 events, per-rule awards) before anyone
/// trusts a benchmark figure. Exit code 0 when all hold.
/// </summary>
public static class CanonicalVerify
{
    private static readonly int[] Prefixes = [0, 20_000, 100_000, 200_000, CanonicalWorkload.EventCount];

    private static readonly (int Events, string Sha256)[] FileHashes =
    [
        (20_000, "25da67c2131c12b86f2d8cf0e5849827f9e9474dcc586b774c8a66d47e8b2dda"),
        (100_000, "9ff98b37c2cfbb42832e2ee447b19250b492ef59ee020306c5161c892c11f193"),
        (200_000, "28ee371e62a9e01dd4494326618abbc7017c8e91dc09afbb5b7055554c21a891"),
        (CanonicalWorkload.EventCount, "37ba0f2ddada9e658bc98106d751751ce6c36b065a84d8c571b7aa06f2e229e3"),
    ];

    // §7 per-rule awards (suppressed) over all 1,000,000 events.
    private static readonly Dictionary<string, (int Awards, int Suppressed)> RuleCounts = new(StringComparer.Ordinal)
    {
        ["F01"] = (18128, 0), ["F02"] = (3905, 0), ["F03"] = (20941, 0), ["F04"] = (6087, 0), ["F05"] = (40333, 0), ["F06"] = (9916, 0),
        ["F07"] = (14803, 0), ["F08"] = (25229, 0), ["F09"] = (25166, 0), ["F10"] = (30084, 0), ["F11"] = (57851, 0), ["F12"] = (1631, 0),
        ["E01"] = (74911, 588), ["E02"] = (81034, 28), ["E03"] = (34108, 361), ["E04"] = (21703, 1558),
        ["E05"] = (87006, 31), ["E06"] = (34719, 50), ["E07"] = (49975, 0), ["E08"] = (200432, 1),
        ["E09"] = (99719, 0), ["E10"] = (29722, 0), ["E11"] = (19921, 0), ["E12"] = (20186, 0),
        ["E13"] = (4954, 0), ["E14"] = (16501, 130), ["E15"] = (15211, 0), ["E16"] = (7433, 0), ["E18"] = (15137, 0),
    };

    public static int Run()
    {
        var sw = Stopwatch.StartNew();
        var w = CanonicalWorkload.Generate();
        Console.WriteLine($"generated 100,000 leads and 1,000,000 events in {sw.ElapsedMilliseconds} ms");

        CheckModelFile();
        CheckMessagesFile(w);

        sw.Restart();
        var identifies = w.IdentifyMessages();
        var events = w.EventMessages(CanonicalWorkload.EventCount);
        Console.WriteLine($"built 1,100,000 LeadMessage objects in {sw.ElapsedMilliseconds} ms");
        CheckMessagesEqualTemplates(w, identifies, events);

        // The hand-written baseline.
        var baseline = new HandWrittenBaseline(CanonicalWorkload.LeadCount);
        baseline.IdentifyAll(w);
        int applied = 0;
        foreach (int n in Prefixes)
        {
            for (; applied < n; applied++)
            {
                baseline.Apply(w.Events[applied]);
            }

            CanonicalWorkload.Check("hand-written baseline", n, CanonicalWorkload.Describe(baseline.Totals()));
        }

        // LeadScoring, replays at once and deferred; the same §7 values.
        var model = CanonicalWorkload.CompileModel();
        foreach (var (name, options) in new (string, LeadScoringEngineOptions)[] { ("replays at once", LeadScoringEngineOptions.Default), ("replays deferred", new LeadScoringEngineOptions { DeferReplays = true }) })
        {
            sw.Restart();
            var engine = new LeadScoringEngine(model, options);
            foreach (var m in identifies)
            {
                engine.Apply(m);
            }

            applied = 0;
            foreach (int n in Prefixes)
            {
                for (; applied < n; applied++)
                {
                    var outcome = engine.Apply(events[applied]);
                    if (outcome != ApplyOutcome.Applied)
                    {
                        throw new InvalidOperationException($"event {applied}: {outcome}, expected Applied (the file is in order)");
                    }
                }

                CanonicalWorkload.Check($"LeadScoring engine, {name}", n, CanonicalWorkload.Describe(w.Totals(engine)));
            }

            var s = engine.Statistics;
            Console.WriteLine($"//   statistics: applied={s.Applied:N0} late={s.Late} duplicates={s.Duplicates} merges={s.Merges} replays={s.Replays}; {sw.ElapsedMilliseconds} ms");
            if (!options.DeferReplays)
            {
                CheckRuleCounts(w, engine);
            }
        }

        // The batch form: sort, then apply through the same engine.
        sw.Restart();
        var sortedEngine = new LeadScoringEngine(model);
        foreach (var m in identifies.Concat(events).Order(Comparer<LeadMessage>.Create(LeadMessage.CompareOrder)))
        {
            sortedEngine.Apply(m);
        }

        var batch = sortedEngine.EvaluateAll(CanonicalWorkload.AsOf).ToList();
        var totals = new int[CanonicalWorkload.LeadCount];
        for (int i = 0; i < totals.Length; i++)
        {
            if (batch[i].LeadId != w.UserIds[i])
            {
                throw new InvalidOperationException($"batch result {i} is {batch[i].LeadId}, expected {w.UserIds[i]}");
            }

            totals[i] = (int)batch[i]["total"];
        }

        CanonicalWorkload.Check("sort, then apply", CanonicalWorkload.EventCount, CanonicalWorkload.Describe(totals));
        Console.WriteLine($"//   {sw.ElapsedMilliseconds} ms");

        // The peer rule engines of §8 on the same data: fit, then the events in order, checked at every prefix.
        var profiles = PeerProfile.All(w);
        var peerEvents = PeerEvent.All(w, CanonicalWorkload.EventCount);
        foreach (var (name, settings) in new (string, RulesEngine.Models.ReSettings?)[] { ("tuned", RulesEnginePeer.Tuned), ("library defaults", null) })
        {
            var re = new RulesEnginePeer(settings) { Awards = new int[29] };
            VerifyPeer($"RulesEngine 6.0.1, {name}", profiles, peerEvents, re.FitAsync, re.ApplyAsync).GetAwaiter().GetResult();
            CheckPeerRuleCounts(re.RuleNames.Zip(re.Awards).ToDictionary(x => x.First, x => x.Second, StringComparer.Ordinal));
        }

        var nrules = new NRulesPeer();
        var fired = nrules.CountAwards();
        VerifyPeer(
            "NRules 1.0.4", profiles, peerEvents,
            p => ValueTask.FromResult(nrules.Fit(p)),
            (e, p, s) =>
            {
                nrules.Apply(e, p, s);
                return ValueTask.CompletedTask;
            }).GetAwaiter().GetResult();
        CheckPeerRuleCounts(fired);
        Console.WriteLine("verify: all checks passed");
        return 0;
    }

    /// <summary>A peer engine's fit of every lead, then its lead states after each prefix of the events, against §7.</summary>
    private static async Task VerifyPeer(
        string name, PeerProfile[] profiles, PeerEvent[] events,
        Func<PeerProfile, ValueTask<int>> fit, Func<PeerEvent, PeerProfile, PeerLeadState, ValueTask> apply)
    {
        var sw = Stopwatch.StartNew();
        var fits = new int[profiles.Length];
        for (int i = 0; i < fits.Length; i++)
        {
            fits[i] = await fit(profiles[i]);
        }

        long fitMs = sw.ElapsedMilliseconds;
        var states = PeerLeadState.Fresh(fits);
        int applied = 0;
        foreach (int n in Prefixes)
        {
            for (; applied < n; applied++)
            {
                var e = events[applied];
                await apply(e, profiles[e.Lead], states[e.Lead]);
            }

            CanonicalWorkload.Check(name, n, CanonicalWorkload.Describe(PeerLeadState.Totals(states)));
        }

        Console.WriteLine($"//   fit of 100,000 leads {fitMs:N0} ms, 1,000,000 events {sw.ElapsedMilliseconds - fitMs:N0} ms");
    }

    /// <summary>A peer's awards per rule (keyed by the §6 rule id, e.g. <c>E01_pricing_view</c>) against §7.</summary>
    private static void CheckPeerRuleCounts(Dictionary<string, int> awards)
    {
        var byRule = awards.ToDictionary(x => x.Key[..3], x => x.Value, StringComparer.Ordinal);
        foreach (var (rule, expected) in RuleCounts)
        {
            int got = byRule.GetValueOrDefault(rule);
            if (got != expected.Awards)
            {
                throw new InvalidOperationException($"rule {rule}: {got} awards, §7 expects {expected.Awards}");
            }
        }

        Console.WriteLine("//   per-rule awards of all 29 rules equal §7 OK");
    }

    private static void CheckModelFile()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(CanonicalWorkload.ModelJson);
        string sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        const string Expected = "396bdfafaebe3dab340ca0cb956840932dd738163539b4084cca7c7484fcede3";
        if (sha != Expected || bytes.Length != 5076)
        {
            throw new InvalidOperationException($"model.json: {bytes.Length} bytes, SHA-256 {sha}; §6 expects 5,076 bytes, {Expected}");
        }

        Console.WriteLine($"// model.json: 5,076 bytes, SHA-256 {sha} OK (§6)");
    }

    /// <summary>Writes messages.jsonl from the templates (in memory) and compares the SHA-256 of each prefix with §3.</summary>
    private static void CheckMessagesFile(CanonicalWorkload w)
    {
        var hashes = FileHashes.Select(_ => IncrementalHash.CreateHash(HashAlgorithmName.SHA256)).ToArray();
        var lengths = new long[hashes.Length];
        byte[] buffer = new byte[1024];

        void Feed(string line, int events)
        {
            int n = Encoding.ASCII.GetBytes(line, buffer);
            for (int k = 0; k < hashes.Length; k++)
            {
                if (events <= FileHashes[k].Events)
                {
                    hashes[k].AppendData(buffer, 0, n);
                    lengths[k] += n;
                }
            }
        }

        for (int i = 0; i < CanonicalWorkload.LeadCount; i++)
        {
            Feed(w.IdentifyLine(i), 0);
        }

        for (int j = 0; j < CanonicalWorkload.EventCount; j++)
        {
            Feed(w.EventLine(j), j + 1);
        }

        for (int k = 0; k < hashes.Length; k++)
        {
            string sha = Convert.ToHexStringLower(hashes[k].GetHashAndReset());
            if (sha != FileHashes[k].Sha256)
            {
                throw new InvalidOperationException($"messages.jsonl with {FileHashes[k].Events:N0} events: SHA-256 {sha} ({lengths[k]:N0} bytes), §3 expects {FileHashes[k].Sha256}");
            }

            Console.WriteLine($"// messages.jsonl, first {FileHashes[k].Events:N0} events: {lengths[k]:N0} bytes, SHA-256 OK (§3)");
        }
    }

    /// <summary>Every message built in memory equals the one <see cref="MessageParser"/> reads from its §3 line.</summary>
    private static void CheckMessagesEqualTemplates(CanonicalWorkload w, LeadMessage[] identifies, LeadMessage[] events)
    {
        var sw = Stopwatch.StartNew();
        static void Same(string line, LeadMessage built)
        {
            var parsed = MessageParser.Parse(line).Message ?? throw new InvalidOperationException("not parsed: " + line);
            if (parsed.ToJson() != built.ToJson() || parsed.UserId != built.UserId || parsed.MessageId != built.MessageId)
            {
                throw new InvalidOperationException($"built message {built.ToJson()} differs from the template's {parsed.ToJson()}");
            }
        }

        for (int i = 0; i < identifies.Length; i++)
        {
            Same(w.IdentifyLine(i), identifies[i]);
        }

        for (int j = 0; j < events.Length; j++)
        {
            Same(w.EventLine(j), events[j]);
        }

        Console.WriteLine($"// all 1,100,000 built messages equal MessageParser.Parse of their §3 lines OK ({sw.ElapsedMilliseconds} ms)");
    }

    private static void CheckRuleCounts(CanonicalWorkload w, LeadScoringEngine engine)
    {
        var sums = new Dictionary<string, (int Awards, int Suppressed)>(StringComparer.Ordinal);
        foreach (var id in w.UserIds)
        {
            foreach (var c in engine.Evaluate(id, CanonicalWorkload.AsOf, explain: true)!.Contributions)
            {
                string rule = c.Rule[..3];
                var (a, s) = sums.GetValueOrDefault(rule);
                sums[rule] = (a + c.Awards, s + c.Suppressed);
            }
        }

        foreach (var (rule, expected) in RuleCounts)
        {
            var got = sums.GetValueOrDefault(rule);
            if (got != expected)
            {
                throw new InvalidOperationException($"rule {rule}: {got.Awards} awards ({got.Suppressed} suppressed), §7 expects {expected.Awards} ({expected.Suppressed})");
            }
        }

        Console.WriteLine("//   per-rule awards and suppressed counts of all 29 rules equal §7 OK");
    }
}
