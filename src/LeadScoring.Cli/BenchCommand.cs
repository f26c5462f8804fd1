using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Security.Cryptography;
using System.Text;
using LeadScoring.Benchmarks.Canonical;
using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Cli;

/// <summary>
/// <c>leadscore bench</c>: the whole-process run of the canonical workload (canonical-workload.md §9.2). It streams a
/// JSON Lines file from disk through <see cref="MessageParser"/> and the batch apply (256 messages a call) and prints the §7 checksum line, then the
/// counts, the wall-time split, throughput, peak memory and lead-state bytes per lead. <c>--generate DIR</c> writes
/// the canonical <c>model.json</c> and <c>messages.jsonl</c> (the §2 generator, shared with the benchmarks).
/// </summary>
internal static class BenchCommand
{
    /// <summary>SHA-256 of messages.jsonl for the event counts of canonical-workload.md §3.</summary>
    private static readonly Dictionary<int, string> KnownMessageHashes = new()
    {
        [1_000_000] = "37ba0f2ddada9e658bc98106d751751ce6c36b065a84d8c571b7aa06f2e229e3",
        [200_000] = "28ee371e62a9e01dd4494326618abbc7017c8e91dc09afbb5b7055554c21a891",
        [100_000] = "9ff98b37c2cfbb42832e2ee447b19250b492ef59ee020306c5161c892c11f193",
        [20_000] = "25da67c2131c12b86f2d8cf0e5849827f9e9474dcc586b774c8a66d47e8b2dda",
    };

    /// <summary>SHA-256 of model.json (canonical-workload.md §6).</summary>
    private const string ModelHash = "396bdfafaebe3dab340ca0cb956840932dd738163539b4084cca7c7484fcede3";

    public static Command Create(CliEnvironment env)
    {
        var model = new Option<FileInfo?>("--model", "-m") { Description = "The scoring-model JSON document." };
        var events = new Option<FileInfo?>("--events", "-e") { Description = "The messages: a JSON Lines file, read streaming." };
        var asOf = new Option<string?>("--as-of") { Description = "Evaluate the leads as of this ISO 8601 instant (default: now). Every message is applied." };
        var generate = new Option<DirectoryInfo?>("--generate")
        {
            Description = "Instead of running: write the canonical workload's model.json and messages.jsonl into this folder.",
        };
        var eventCount = new Option<int>("--event-count")
        {
            Description = "With --generate: how many of the 1,000,000 events to write (after the 100,000 identifies).",
            DefaultValueFactory = _ => CanonicalWorkload.EventCount,
        };
        var bench = new Command(
            "bench",
            "Score a JSON Lines file as fast as possible and print the checksum of the totals, throughput and memory (see benchmarks/README.md).")
        {
            model, events, asOf, generate, eventCount,
        };
        bench.Validators.Add(r =>
        {
            bool Given(Option o) => r.GetResult(o) is { Implicit: false };
            bool generating = Given(generate);
            if (generating && (Given(model) || Given(events) || Given(asOf)))
            {
                r.AddError("--generate writes a workload; it takes no --model, --events or --as-of.");
            }
            else if (!generating && (!Given(model) || !Given(events)))
            {
                r.AddError("bench needs --model and --events (or --generate DIR).");
            }

            if (Given(eventCount) && !generating)
            {
                r.AddError("--event-count goes with --generate.");
            }
        });
        bench.SetAction(p => p.GetValue(generate) is { } dir
            ? Generate(dir, p.GetValue(eventCount), env)
            : Run(p.GetValue(model)!, p.GetValue(events)!, p.GetValue(asOf), env));
        return bench;
    }

    // ------------------------------------------------------------------------------------------------ run

    private static int Run(FileInfo modelFile, FileInfo eventsFile, string? asOfText, CliEnvironment env)
    {
        var total = Stopwatch.StartNew();
        DateTimeOffset asOf;
        if (asOfText is null)
        {
            asOf = env.Time.GetUtcNow();
        }
        else if (MessageParser.TryParseTimestamp(asOfText, out long ticks))
        {
            asOf = new DateTimeOffset(ticks, TimeSpan.Zero);
        }
        else
        {
            env.Stderr.WriteLine($"error: --as-of '{asOfText}' is not an ISO 8601 instant with an offset or Z, e.g. 2025-07-01T00:00:00Z");
            return LeadScoreCli.Usage;
        }

        if (!eventsFile.Exists)
        {
            env.Stderr.WriteLine(Directory.Exists(eventsFile.FullName) ? $"error: {eventsFile.FullName}: is a directory, not a message file" : $"error: {eventsFile.FullName}: no such file");
            return LeadScoreCli.IoError;
        }

        // 1. Model load: read, validate, compile.
        var phase = Stopwatch.StartNew();
        var loaded = LeadScoreCli.LoadModel(modelFile, env);
        if (loaded is null)
        {
            return LeadScoreCli.IoError;
        }

        if (LeadScoreCli.ReportErrors(loaded, modelFile, env))
        {
            return LeadScoreCli.Usage;
        }

        // As `leadscore score` runs it: no reorder horizon, counted messages kept as their line in the file.
        using var history = new FileMessageHistory(eventsFile.FullName);
        var scorer = new LeadScoringEngine(CompiledModel.Compile(loaded.Model!), new LeadScoringEngineOptions { ReorderHorizon = null, DeferReplays = true }, history);
        var names = scorer.Model.ScoreNames;
        int scoreIndex = names.IndexOf("total");
        if (scoreIndex < 0)
        {
            scoreIndex = names.Length - 1;
            env.Stderr.WriteLine($"note: the model has no 'total' score; the checksum is over its last score, '{names[scoreIndex]}'");
        }

        var modelLoad = phase.Elapsed;

        // 2. Parse and score, streaming. The read buffer is rented before the memory baseline and returned after the
        //    second measurement, so it is in both; the file stream (and its buffer) lives only between them.
        long messages = 0, rejected = 0, ignored = 0, duplicates = 0;
        string source = eventsFile.Name;
        long baseline, retained;
        TimeSpan parseAndScore, measure;
        FileStream input;
        try
        {
            input = new FileStream(eventsFile.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            env.Stderr.WriteLine($"error: {eventsFile.FullName}: {ex.Message}");
            return LeadScoreCli.IoError;
        }

        var lines = new JsonLinesFramer(input);
        var batch = new LeadMessage[256];
        var outcomes = new ApplyOutcome[batch.Length];
        int pending = 0;
        {
            phase.Restart();
            baseline = GC.GetTotalMemory(forceFullCollection: true);
            measure = phase.Elapsed;

            phase.Restart();
            using (input)
            {
                while (lines.MoveNext())
                {
                    messages++;
                    if (lines.Kind != JsonFrameKind.Line)
                    {
                        rejected++;
                        env.Stderr.WriteLine($"{source}: line {lines.LineNumber}: rejected: {lines.Reason}");
                        continue;
                    }

                    var r = MessageParser.Parse(lines.Current);
                    if (r.Error is not null)
                    {
                        rejected++;
                        env.Stderr.WriteLine($"{source}: line {lines.LineNumber}: rejected: {r.Error}");
                    }
                    else if (r.Message is not { } m)
                    {
                        ignored++;
                    }
                    else
                    {
                        history.Expect(m, lines.LineNumber, -1);
                        batch[pending++] = m;
                        if (pending == batch.Length)
                        {
                            ApplyBatch();
                        }
                    }
                }

                ApplyBatch();
            }

            // Parsed messages go to the scorer in batches, so it can fetch the next leads' rows while it applies one.
            void ApplyBatch()
            {
                scorer.Apply(batch.AsSpan(0, pending), outcomes);
                duplicates += outcomes.AsSpan(0, pending).Count(ApplyOutcome.Duplicate);
                history.ClearExpected();
                Array.Clear(batch, 0, pending);
                pending = 0;
            }

            parseAndScore = phase.Elapsed;

            // 3. Lead state: what the scorer keeps, the input released (the file stream is closed).
            phase.Restart();
            retained = GC.GetTotalMemory(forceFullCollection: true);
            measure += phase.Elapsed;
        }

        // 4. Output: every lead in ordinal id order, its total as a 32-bit integer, hashed as canonical-workload.md §7.
        phase.Restart();
        var totals = new List<int>(scorer.LeadCount);
        foreach (var lead in scorer.EvaluateAll(asOf))
        {
            totals.Add(checked((int)Math.Round(lead.ValueAt(scoreIndex), MidpointRounding.AwayFromZero)));
        }

        var stats = scorer.Statistics;
        var output = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        output.Append(CanonicalWorkload.Describe(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(totals))).Append('\n');
        output.Append(ci, $"messages={messages} rejected={rejected} ignored={ignored} duplicates={duplicates} late={stats.Late} leads={scorer.LeadCount} score={names[scoreIndex]} as-of={asOf.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}\n");
        var outputTime = phase.Elapsed;

        using var process = Process.GetCurrentProcess();
        process.Refresh();
        double processMs = (DateTime.Now - process.StartTime).TotalMilliseconds;
        double perSecond = messages / Math.Max(parseAndScore.TotalSeconds, 1e-9);
        output.Append(ci, $"time: model-load={Ms(modelLoad)} ms parse+score={Ms(parseAndScore)} ms output={Ms(outputTime)} ms memory-measurement={Ms(measure)} ms total={Ms(total.Elapsed)} ms (process {processMs:F0} ms since start)\n");
        output.Append(ci, $"throughput: {perSecond:F0} messages/s parse+score ({parseAndScore.TotalMilliseconds * 1e6 / Math.Max(messages, 1):F0} ns per message)\n");
        var gc = GC.GetGCMemoryInfo();
        output.Append(ci, $"memory: peak-working-set={MiB(process.PeakWorkingSet64)} MiB gc-heap={MiB(gc.HeapSizeBytes)} MiB allocated={MiB(GC.GetTotalAllocatedBytes())} MiB ");
        output.Append(ci, $"gc-count gen0={GC.CollectionCount(0)} gen1={GC.CollectionCount(1)} gen2={GC.CollectionCount(2)} gc-pause={GC.GetTotalPauseDuration().TotalMilliseconds:F0} ms ({(GCSettings.IsServerGC ? "server" : "workstation")} GC)\n");
        long leads = Math.Max(scorer.LeadCount, 1);
        output.Append(ci, $"lead-state: {(retained - baseline) / (double)leads:F0} bytes per lead ({retained - baseline} bytes for {scorer.LeadCount} leads: GC.GetTotalMemory(true) after scoring minus after model load)\n");

        var stdout = new StreamWriter(env.Stdout, new UTF8Encoding(false), 1 << 12, leaveOpen: true);
        stdout.Write(output.ToString());
        stdout.Flush();
        GC.KeepAlive(scorer);
        return LeadScoreCli.Ok;
    }

    private static string Ms(TimeSpan t) => t.TotalMilliseconds.ToString("F0", CultureInfo.InvariantCulture);

    private static string MiB(long bytes) => (bytes / 1024.0 / 1024.0).ToString("F1", CultureInfo.InvariantCulture);

    // ------------------------------------------------------------------------------------------------ generate

    private static int Generate(DirectoryInfo dir, int events, CliEnvironment env)
    {
        if (events is < 0 or > CanonicalWorkload.EventCount)
        {
            env.Stderr.WriteLine($"error: --event-count must be between 0 and {CanonicalWorkload.EventCount}, not {events}");
            return LeadScoreCli.Usage;
        }

        string modelPath = Path.Combine(dir.FullName, "model.json");
        string messagesPath = Path.Combine(dir.FullName, "messages.jsonl");
        long lineCount = 0, byteCount = 0;
        string messagesHash;
        try
        {
            dir.Create();
            var modelBytes = Encoding.UTF8.GetBytes(CanonicalWorkload.ModelJson);
            File.WriteAllBytes(modelPath, modelBytes);
            if (Convert.ToHexStringLower(SHA256.HashData(modelBytes)) != ModelHash)
            {
                env.Stderr.WriteLine($"error: {modelPath}: the SHA-256 differs from canonical-workload.md §6 ({ModelHash})");
                return LeadScoreCli.Rejections;
            }

            var w = CanonicalWorkload.Generate(events);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using (var file = new FileStream(messagesPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                var buffer = new byte[4096];
                void Write(string line)
                {
                    int n = Encoding.UTF8.GetBytes(line, buffer);
                    hash.AppendData(buffer, 0, n);
                    file.Write(buffer, 0, n);
                    lineCount++;
                    byteCount += n;
                }

                for (int i = 0; i < CanonicalWorkload.LeadCount; i++)
                {
                    Write(w.IdentifyLine(i));
                }

                for (int j = 0; j < events; j++)
                {
                    Write(w.EventLine(j));
                }
            }

            messagesHash = Convert.ToHexStringLower(hash.GetHashAndReset());
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            env.Stderr.WriteLine($"error: {dir.FullName}: {ex.Message}");
            return LeadScoreCli.IoError;
        }

        string? known = KnownMessageHashes.GetValueOrDefault(events);
        using var stdout = new StreamWriter(env.Stdout, new UTF8Encoding(false), 1 << 12, leaveOpen: true);
        stdout.Write($"{modelPath}: {new FileInfo(modelPath).Length} bytes, sha256 {ModelHash} (canonical-workload.md §6)\n");
        stdout.Write($"{messagesPath}: {lineCount} lines ({CanonicalWorkload.LeadCount} identifies, {events} events), {byteCount} bytes, sha256 {messagesHash}");
        stdout.Write(known is null ? " (§3 lists no hash for this event count)\n" : known == messagesHash ? " (canonical-workload.md §3)\n" : "\n");
        if (CanonicalWorkload.Expected(events) is { } expected)
        {
            stdout.Write($"expected: {expected}\n");
        }

        stdout.Flush();
        if (known is not null && known != messagesHash)
        {
            env.Stderr.WriteLine($"error: {messagesPath}: the SHA-256 differs from canonical-workload.md §3 ({known})");
            return LeadScoreCli.Rejections;
        }

        return LeadScoreCli.Ok;
    }
}
