using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace PackageSmoke;

/// <summary>
/// The quick start of the LeadScoring package README, line for line (ReadmeTests checks that every line of the packaged
/// README's C# block is here, in order), so that it is known to compile and run against the package.
/// </summary>
internal static class CoreQuickStart
{
    public static LeadResult Run()
    {
        // Load and validate the model (every error is reported with its place), then compile it once.
        var model = CompiledModel.Compile(ScoringModelLoader.LoadFile("model.json").GetModelOrThrow());

        // Apply messages as they happen, in any order: the engine keeps each lead's state.
        var engine = new LeadScoringEngine(model);
        using (var messages = File.OpenRead("messages.jsonl"))
        {
            foreach (var record in MessageReader.Read(messages))
            {
                if (record.Result.Message is { } message) engine.Apply(message);
                else if (record.Result.IsRejected) Console.Error.WriteLine($"{record.Location}: {record.Result.Error}");
            }
        }

        // Score a lead at an instant, with the rules that gave its points.
        LeadResult lead = engine.Evaluate("u-0031", DateTimeOffset.Parse("2026-11-30T00:00:00Z"), explain: true)!;
        Console.WriteLine($"{lead.LeadId}: total {lead["total"]}, grade {lead.Grade}, stage {lead.Stage}");
        foreach (var c in lead.Contributions) Console.WriteLine($"  {c.Rule} ({c.Score}): {c.Points}");

        return lead;
    }
}
