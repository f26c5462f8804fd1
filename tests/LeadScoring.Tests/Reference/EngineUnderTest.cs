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
    public static IReadOnlyList<ReferenceLead> Score(string modelJson, IEnumerable<string> messageLines, DateTimeOffset asOf, bool explain)
    {
        var engine = new LeadScoringEngine(
            CompiledModel.Compile(Load(modelJson)),
            // As `leadscore score` builds it: every message kept (exact for any arrival order), replays deferred.
            new LeadScoringEngineOptions { ReorderHorizon = null, DeferReplays = true });
        foreach (var line in messageLines)
        {
            var parsed = MessageParser.Parse(Encoding.UTF8.GetBytes(line));
            // As the command-line tool does: rejected and ignored messages are not applied, nor those after the as-of time.
            if (parsed.Message is { } m && m.TimestampTicks <= asOf.UtcTicks)
            {
                engine.Apply(m);
            }
        }

        return engine.EvaluateAll(asOf, explain).Select(r => ReferenceLead.FromJson(LeadResultJson.ToJson(r))).ToList();
    }

    private static ScoringModel Load(string modelJson) => ScoringModelLoader.Load(modelJson).GetModelOrThrow();
}
