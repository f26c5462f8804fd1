using System.Text;
using System.Text.Json;
using LeadScoring.Cli;
using Microsoft.Extensions.Time.Testing;

namespace LeadScoring.Lab.Tests;

/// <summary>What one in-process run of <c>leadscore</c> left behind.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;
}

/// <summary>Runs <c>leadscore</c> in process, with buffers for the console.</summary>
internal static class Cli
{
    public static CliResult Run(params string[] args)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        var env = new CliEnvironment
        {
            Stdout = stdout,
            Stderr = stderr,
            OpenStdin = () => new MemoryStream([], writable: false),
            Time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero)),
            StderrIsTerminal = false,
        };
        int exit = LeadScoreCli.Run(args, env);
        return new CliResult(exit, Encoding.UTF8.GetString(stdout.ToArray()), stderr.ToString());
    }
}

/// <summary>A temporary directory, deleted with everything in it on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "leadscoring-lab-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public string Write(string name, string text)
    {
        string file = File(name);
        System.IO.File.WriteAllText(file, text);
        return file;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}

internal static class Sample
{
    public static string Model => Data("model.json");

    public static string Messages => Data("messages.jsonl");

    public static string Data(string name) => System.IO.Path.Combine(AppContext.BaseDirectory, "data", name);
}
