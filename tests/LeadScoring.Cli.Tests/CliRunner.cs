using System.Text;
using LeadScoring.Cli;
using Microsoft.Extensions.Time.Testing;

namespace LeadScoring.Cli.Tests;

/// <summary>What one in-process run of <c>leadscore</c> left behind.</summary>
internal sealed record CliResult(int ExitCode, byte[] StdoutBytes, string Stderr)
{
    public string Stdout => Encoding.UTF8.GetString(StdoutBytes);

    /// <summary>The stdout lines, without the empty string after the final line break.</summary>
    public string[] StdoutLines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public string[] StderrLines => Stderr.ReplaceLineEndings("\n").Split('\n', StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>Runs <see cref="LeadScoreCli.Run"/> in process, with buffers for the console and a fake clock.</summary>
internal static class CliRunner
{
    /// <summary>The "now" of every run that does not bring its own clock.</summary>
    public static readonly DateTimeOffset DefaultNow = new(2026, 12, 1, 8, 30, 15, 250, TimeSpan.Zero);

    public static CliResult Run(params string[] args) => Run(args, stdin: null, time: null);

    public static CliResult Run(string[] args, byte[]? stdin = null, TimeProvider? time = null)
    {
        var stdout = new MemoryStream();
        var stderr = new StringWriter();
        var env = new CliEnvironment
        {
            Stdout = stdout,
            Stderr = stderr,
            OpenStdin = () => new MemoryStream(stdin ?? [], writable: false),
            Time = time ?? new FakeTimeProvider(DefaultNow),
            StderrIsTerminal = false,
        };

        int exit = LeadScoreCli.Run(args, env);
        // ToArray works even when the tool disposed the stream.
        return new CliResult(exit, stdout.ToArray(), stderr.ToString());
    }
}
