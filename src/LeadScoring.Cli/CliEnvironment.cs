namespace LeadScoring.Cli;

/// <summary>What the tool reads and writes: the process's console, or buffers in tests.</summary>
internal sealed class CliEnvironment
{
    public required Stream Stdout { get; init; }

    public required TextWriter Stderr { get; init; }

    public required Func<Stream> OpenStdin { get; init; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Whether stderr is a terminal, so a progress bar can be drawn on it.</summary>
    public bool StderrIsTerminal { get; init; }

    public static CliEnvironment FromConsole() => new()
    {
        Stdout = Console.OpenStandardOutput(),
        Stderr = Console.Error,
        OpenStdin = Console.OpenStandardInput,
        StderrIsTerminal = !Console.IsErrorRedirected,
    };
}
