using System.Text.Json;

namespace LeadScoring.Samples.Tests;

/// <summary>
/// The samples ship the runtime settings their throughput figures were measured with (<c>benchmarks/README.md</c>: "The
/// Worker's garbage collector" and "The call-counting delay"): the server garbage collector and tiered compilation's
/// call-counting delay off. Both are read by the runtime from the built <c>runtimeconfig.json</c>, which is checked here.
/// </summary>
public sealed class RuntimeSettingsTests
{
    public static TheoryData<string> Samples => ["Worker", "WebApi"];

    private static JsonElement ConfigProperties(string sample)
    {
        string dll = sample == "Worker" ? Paths.WorkerDll : Paths.WebApiDll;
        string path = Path.ChangeExtension(dll, ".runtimeconfig.json");
        File.Exists(path).Should().BeTrue($"the sample is built: {path}");
        using var document = JsonDocument.Parse(File.ReadAllText(path));
        return document.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").Clone();
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void The_sample_runs_the_server_garbage_collector(string sample)
    {
        var properties = ConfigProperties(sample);

        properties.TryGetProperty("System.GC.Server", out var server).Should().BeTrue();
        server.GetBoolean().Should().BeTrue();
    }

    [Theory]
    [MemberData(nameof(Samples))]
    public void The_sample_counts_calls_for_tiering_up_without_the_startup_delay(string sample)
    {
        var properties = ConfigProperties(sample);

        properties.TryGetProperty("System.Runtime.TieredCompilation.CallCountingDelayMs", out var delay).Should().BeTrue();
        delay.GetInt32().Should().Be(0);
    }
}
