using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace LeadScoring.Cli.Tests;

/// <summary>Runs the built tool as a child process (<c>dotnet leadscore.dll ...</c>), through its real entry point.</summary>
public sealed class EndToEndTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// The tool ships tiered compilation's call-counting delay at 0 (its project file; <c>benchmarks/README.md</c>, "The
    /// call-counting delay": a run of a few seconds otherwise spends its first ones in unoptimised code). The runtime
    /// reads it from the runtimeconfig.json beside leadscore.dll, the one these tests run.
    /// </summary>
    [Fact]
    public void The_built_tool_counts_calls_for_tiering_up_without_the_startup_delay()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "leadscore.runtimeconfig.json");
        using var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        properties.TryGetProperty("System.Runtime.TieredCompilation.CallCountingDelayMs", out var delay).Should().BeTrue();
        delay.GetInt32().Should().Be(0);
    }

    [Fact]
    public async Task The_built_tool_validates_the_sample_model()
    {
        var (exit, stdout, stderr) = await RunToolAsync("validate", TestData.Model);

        exit.Should().Be(0, stderr);
        stdout.Should().Be("acme-b2b 2026.11.1: 4 scores, 30 rules, 3 personas, 4 stages" + Environment.NewLine);
        stderr.Should().BeEmpty();
    }

    [Fact]
    public async Task The_built_tool_scores_one_lead_exactly_as_the_in_process_run_does()
    {
        string[] args = ["score", "--model", TestData.Model, "--events", TestData.Messages, "--as-of", TestData.AsOf, "--lead", "u-0001"];

        var (exit, stdout, stderr) = await RunToolAsync(args);

        exit.Should().Be(0, stderr);
        var inProcess = CliRunner.Run(args);
        stdout.Should().Be(inProcess.Stdout);
        stdout.Should().StartWith("{\"leadId\":\"u-0001\",\"asOf\":\"2026-11-30T00:00:00Z\",").And.EndWith("}\n");
        stderr.ReplaceLineEndings("\n").Should().Be(inProcess.Stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task The_built_tool_prints_the_version_of_the_leadscore_assembly()
    {
        var (exit, stdout, _) = await RunToolAsync("--version");

        exit.Should().Be(0);
        var expected = typeof(LeadScoreCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion;
        stdout.Trim().Should().MatchRegex(@"^\d+\.\d+\.\d+").And.Be(expected);
    }

    [Fact]
    public async Task The_built_tool_exits_with_2_on_bad_usage()
    {
        var (exit, stdout, stderr) = await RunToolAsync("score", "--model", TestData.Model);

        exit.Should().Be(2);
        stdout.Should().BeEmpty();
        stderr.Should().Contain("error: Option '--events' is required.").And.Contain("leadscore score [options]");
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunToolAsync(params string[] args)
    {
        var tool = Path.Combine(AppContext.BaseDirectory, "leadscore.dll");
        File.Exists(tool).Should().BeTrue($"the CLI project is referenced, so {tool} is built next to the tests");

        var start = new ProcessStartInfo(DotnetHost())
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(tool);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The dotnet host running the tests (the SDK sets DOTNET_HOST_PATH for child processes), else <c>dotnet</c>.</summary>
    private static string DotnetHost()
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return self;
        }

        return "dotnet";
    }
}
