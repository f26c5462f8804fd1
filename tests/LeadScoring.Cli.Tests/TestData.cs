namespace LeadScoring.Cli.Tests;

/// <summary>The sample files copied next to the test assembly, and temporary files that clean up after themselves.</summary>
internal static class TestData
{
    public const string AsOf = "2026-11-30T00:00:00Z";

    public const int SampleLines = 22813;

    public const int SampleLeads = 640;

    public static readonly long[] BrokenLines = [1234, 4567, 8910, 12345, 16789, 20000];

    public static string Model => File("model.json");

    public static string Messages => File("messages.jsonl");

    public static string Batch => File("batch.json");

    public static string File(string name) => Path.Combine(AppContext.BaseDirectory, "data", name);

    /// <summary>The example model of section 3 of the spec.</summary>
    public const string SpecModel = LeadScoring.Tests.Shared.SpecDocuments.ExampleModel;
}

/// <summary>A temporary directory, deleted with everything in it on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = Directory.CreateTempSubdirectory("leadscore-cli-tests-").FullName;
    }

    public string Path { get; }

    public string Write(string name, string text)
    {
        var file = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllText(file, text);
        return file;
    }

    public string Write(string name, IEnumerable<string> lines)
    {
        var file = System.IO.Path.Combine(Path, name);
        System.IO.File.WriteAllLines(file, lines);
        return file;
    }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp folder left behind is harmless.
        }
    }
}
