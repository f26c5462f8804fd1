using System.Reflection;
using System.Text;
using System.Text.Json;
using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Model;
using LeadScoring.Output;

namespace PackageSmoke;

/// <summary>Where the restore put the LeadScoring packages, and which version (set by the project file).</summary>
internal static class Packages
{
    public static string Version { get; } = Metadata("LeadScoringPackageVersion");

    public static string Folder(string packageId) =>
        Path.Combine(Metadata("NuGetPackageRoot"), packageId.ToLowerInvariant(), Version);

    private static string Metadata(string key) =>
        typeof(Packages).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value
        ?? throw new InvalidOperationException(key);
}

public sealed class PackageTests
{
    [Theory]
    [InlineData("LeadScoring")]
    [InlineData("LeadScoring.Hosting")]
    public void The_libraries_are_the_packages_built_from_this_version(string packageId)
    {
        // Resolved as a package, not a project.
        using var deps = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "PackageSmoke.deps.json")));
        var library = deps.RootElement.GetProperty("libraries").GetProperty($"{packageId}/{Packages.Version}");
        Assert.Equal("package", library.GetProperty("type").GetString());
        Assert.True(File.Exists(Path.Combine(Packages.Folder(packageId), "lib", "net10.0", packageId + ".dll")));

        // Built with SourceLink from a commit: the informational version is VERSION+COMMIT.
        var assembly = Assembly.Load(packageId);
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        Assert.Matches($"^{Regex(Packages.Version)}\\+[0-9a-f]{{40}}$", informational);
    }

    [Fact]
    public void The_core_package_ships_the_model_schema()
    {
        var packaged = File.ReadAllText(Path.Combine(Packages.Folder("LeadScoring"), "schema", "scoring-model.schema.json"));
        using var resource = typeof(ScoringModel).Assembly.GetManifestResourceStream("LeadScoring.scoring-model.schema.json");
        Assert.NotNull(resource);
        using var reader = new StreamReader(resource);
        Assert.Equal(reader.ReadToEnd(), packaged);
        using var schema = JsonDocument.Parse(packaged);
        Assert.True(schema.RootElement.TryGetProperty("$schema", out _));
    }

    private static string Regex(string text) => System.Text.RegularExpressions.Regex.Escape(text);
}

public sealed class ScoringTests
{
    private const string Model = """
        {
          "name": "smoke", "version": "1",
          "scores": [
            { "name": "fit", "min": 0, "max": 100 },
            { "name": "engagement" },
            { "name": "total", "sum": { "fit": 1, "engagement": 1 } }
          ],
          "rules": [
            { "id": "senior-title", "score": "fit", "points": 20,
              "when": { "field": "traits.title", "op": "containsAny", "value": ["VP", "Director"] } },
            { "id": "pricing-page", "score": "engagement", "points": 10, "on": "$page",
              "when": { "field": "properties.path", "op": "startsWith", "value": "/pricing" }, "limit": { "count": 2 } },
            { "id": "demo-request", "score": "engagement", "points": 40, "on": "Demo Requested" }
          ],
          "grade": { "score": "fit", "bands": [ { "grade": "A", "min": 20 }, { "grade": "B" } ] },
          "stages": [
            { "name": "lead" },
            { "name": "mql", "enter": { "field": "scores.engagement", "op": "gte", "value": 50 } }
          ]
        }
        """;

    private const string Messages = """
        {"type":"identify","messageId":"s1","userId":"u-1","timestamp":"2026-11-01T10:00:00Z","traits":{"title":"VP Sales"}}
        {"type":"page","messageId":"s2","userId":"u-1","timestamp":"2026-11-02T10:00:00Z","properties":{"path":"/pricing"}}
        {"type":"page","messageId":"s3","userId":"u-1","timestamp":"2026-11-03T10:00:00Z","properties":{"path":"/pricing/teams"}}
        {"type":"page","messageId":"s4","userId":"u-1","timestamp":"2026-11-04T10:00:00Z","properties":{"path":"/pricing"}}
        {"type":"track","messageId":"s5","userId":"u-1","event":"Demo Requested","timestamp":"2026-11-05T10:00:00Z"}
        {"type":"page","messageId":"s6","userId":"u-2","timestamp":"2026-11-05T11:00:00Z","properties":{"path":"/pricing"}}
        {"messageId":"s7","userId":"u-2","timestamp":"2026-11-05T12:00:00Z"}
        """;

    [Fact]
    public void A_few_messages_score_as_the_model_says()
    {
        var model = CompiledModel.Compile(ScoringModelLoader.Load(Model).GetModelOrThrow());
        var records = MessageReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(Messages))).ToList();
        Assert.Equal(7, records.Count);
        Assert.True(records[6].Result.IsRejected);

        var engine = new LeadScoringEngine(model);
        foreach (var m in records.Select(r => r.Result.Message).OfType<LeadMessage>())
        {
            engine.Apply(m);
        }

        var results = engine.EvaluateAll(DateTimeOffset.Parse("2026-11-30T00:00:00Z"), explain: true).ToList();
        var u1 = results.Single(r => r.LeadId == "u-1");
        var u2 = results.Single(r => r.LeadId == "u-2");

        // u-1: a VP (20 fit), three pricing pages of which two count (limit 2), a demo request: 20 + 40 engagement.
        Assert.Equal(20, u1["fit"]);
        Assert.Equal(60, u1["engagement"]);
        Assert.Equal(80, u1["total"]);
        Assert.Equal(("A", "mql"), (u1.Grade, u1.Stage));
        Assert.Equal(80, u1.Contributions.Sum(c => c.Points));
        Assert.Contains(u1.Contributions, c => c is { Rule: "pricing-page", Awards: 2, Suppressed: 1, Points: 20 });
        Assert.Contains("\"total\":80", LeadResultJson.ToJson(u1), StringComparison.Ordinal);

        Assert.Equal(10, u2["total"]);
        Assert.Equal(("B", "lead"), (u2.Grade, u2.Stage));
    }

    [Fact]
    public void The_core_readme_quick_start_scores_the_sample()
    {
        // The quick start reads model.json and messages.jsonl (the repository's sample) from the working directory.
        Environment.CurrentDirectory = AppContext.BaseDirectory;
        var lead = CoreQuickStart.Run();

        // As the repository README and `leadscore score --lead u-0031 --explain` show.
        Assert.Equal("u-0031", lead.LeadId);
        Assert.Equal(50, lead["fit"]);
        Assert.Equal(54.54796924132056, lead["total"], 12);
        Assert.Equal(("A", "practitioner", "lead"), (lead.Grade, lead.Persona, lead.Stage));
        Assert.Equal(6, lead.Contributions.Length);
        Assert.Equal(lead["fit"] + lead["engagement"], lead.Contributions.Sum(c => c.Points), 9);
    }

    [Fact]
    public async Task The_hosting_readme_quick_start_runs()
    {
        var queue = new[]
        {
            """{"type":"track","messageId":"q1","userId":"u-1","event":"Demo Requested","timestamp":"2026-11-05T10:00:00Z"}""",
            """{"type":"track","messageId":"q2","userId":"u-1","event":"Demo Requested","timestamp":"2026-11-06T10:00:00Z"}""",
            "not json",
        };
        var source = new QueueSource(queue);
        var records = new List<SourceRecord>();
        await foreach (var record in source.ReadAsync(checkpoint: "1", CancellationToken.None))
        {
            records.Add(record);
        }

        Assert.Equal(["2", "3"], records.Select(r => r.Checkpoint));
        Assert.Equal("q2", records[0].Result.Message!.MessageId);
        Assert.True(records[1].Result.IsRejected);

        var move = new StageChangedArguments("u-1", "lead", "mql", DateTimeOffset.Parse("2026-11-06T10:00:00Z"), "1", "q2");
        await new NotifySales().OnStageChangedAsync(move, CancellationToken.None);
        Assert.Null(new LeadScoringOptions().ModelPath);
    }
}

public sealed class ReadmeTests
{
    /// <summary>Every line of the packaged README's C# code is in the source compiled here, in the same order.</summary>
    [Theory]
    [InlineData("LeadScoring", "CoreQuickStart.cs")]
    [InlineData("LeadScoring.Hosting", "HostingQuickStart.cs")]
    public void The_packaged_readme_quick_start_is_code_compiled_here(string packageId, string source)
    {
        var readme = File.ReadAllLines(Path.Combine(Packages.Folder(packageId), "README.md"));
        var code = new List<string>();
        bool inCode = false;
        foreach (var line in readme)
        {
            if (line.StartsWith("```", StringComparison.Ordinal))
            {
                inCode = !inCode && line.Trim() == "```csharp";
            }
            else if (inCode && line.Trim().Length > 0)
            {
                code.Add(line.Trim());
            }
        }

        Assert.NotEmpty(code);
        var compiled = File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, source)).Select(l => l.Trim()).ToList();
        int at = 0;
        foreach (var line in code)
        {
            int found = compiled.IndexOf(line, at);
            Assert.True(found >= 0, $"the {packageId} README's line `{line}` is not in {source} (in order)");
            at = found + 1;
        }
    }
}
