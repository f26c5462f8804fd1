using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;
using LeadScoring.Output;
using LeadScoring.Reference;

namespace LeadScoring.Tests.Reference;

/// <summary>
/// The one place where the reference-based tests call the library: model JSON and message lines in, the output
/// lines of contract section 5 out (read back as <see cref="ReferenceLead"/>s). The engine is being rewritten; when
/// its API changes, only this class changes.
/// </summary>
internal static class EngineUnderTest
{
    /// <param name="batch">
    /// 0: messages applied one by one; otherwise through <see cref="LeadScoringEngine.Apply(ReadOnlySpan{LeadMessage}, Span{ApplyOutcome})"/>
    /// in batches of this many.
    /// </param>
    /// <param name="replayAtOnce">
    /// False: replays deferred until a lead is read, as `leadscore score` runs; true: the engine's default, a lead made
    /// stale is replayed at once (by the batch apply, when its batch ends).
    /// </param>
    /// <param name="horizon">The reorder horizon: none (every message kept, as `leadscore score` runs), or the engine's own, which folds older messages into a base state.</param>
    /// <param name="engineUsed">Called with the engine after the messages, before the evaluation (to read its counters).</param>
    /// <param name="foldsWaitForBatchEnd">False: the batch apply folds a lead as soon as its fold falls due, rather than when the batch ends.</param>
    public static IReadOnlyList<ReferenceLead> Score(string modelJson, IEnumerable<string> messageLines, DateTimeOffset asOf, bool explain, int batch = 0, bool replayAtOnce = false,
        TimeSpan? horizon = null, Action<LeadScoringEngine>? engineUsed = null, bool foldsWaitForBatchEnd = true)
    {
        var engine = new LeadScoringEngine(
            CompiledModel.Compile(Load(modelJson)),
            // As `leadscore score` builds it: every message kept (exact for any arrival order), replays deferred.
            new LeadScoringEngineOptions { ReorderHorizon = horizon, DeferReplays = !replayAtOnce })
        {
            FoldsWaitForBatchEnd = foldsWaitForBatchEnd,
        };
        var pending = new List<LeadMessage>();
        foreach (var line in messageLines)
        {
            var parsed = MessageParser.Parse(Encoding.UTF8.GetBytes(line));
            // As the command-line tool does: rejected and ignored messages are not applied, nor those after the as-of time.
            if (parsed.Message is { } m && m.TimestampTicks <= asOf.UtcTicks)
            {
                if (batch == 0)
                {
                    engine.Apply(m);
                    continue;
                }

                pending.Add(m);
                if (pending.Count == batch)
                {
                    ApplyBatch(engine, pending);
                }
            }
        }

        ApplyBatch(engine, pending);
        engineUsed?.Invoke(engine);

        return engine.EvaluateAll(asOf, explain).Select(r => ReferenceLead.FromJson(LeadResultJson.ToJson(r))).ToList();
    }

    private static void ApplyBatch(LeadScoringEngine engine, List<LeadMessage> pending)
    {
        var outcomes = new ApplyOutcome[pending.Count];
        engine.Apply(pending.ToArray(), outcomes);
        pending.Clear();
    }

    private static ScoringModel Load(string modelJson) => ScoringModelLoader.Load(modelJson).GetModelOrThrow();
}
