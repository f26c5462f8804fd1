using System.Diagnostics.Metrics;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LeadScoring.Hosting.Tests;

public class ModelReloadTests
{
    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException(what);
            }

            await Task.Delay(25);
        }
    }

    [Fact]
    public async Task A_watcher_that_lost_events_reloads_the_model_file()
    {
        // An overflowed event queue (a folder that also holds a busy database) may have lost the model's own change.
        string dir = Directory.CreateTempSubdirectory("ls-model-").FullName;
        string path = Path.Combine(dir, "model.json");
        string v1 = File.ReadAllText(HostKit.Sample("model.json"));
        string v2 = v1.Replace("\"version\": \"2026.11.1\"", "\"version\": \"2026.12.1\"", StringComparison.Ordinal);
        v2.Should().NotBe(v1);
        File.WriteAllText(path, v1);
        using var host = HostKit.Build(o => o.ModelPath = path);
        await host.StartAsync();
        var provider = host.Services.GetRequiredService<ModelProvider>();
        var watcher = host.Services.GetServices<IOptionsChangeTokenSource<LeadScoringOptions>>().OfType<ModelFileChangeTokenSource>().Single().Watcher!;

        // The change is not seen, as when the queue overflowed.
        watcher.EnableRaisingEvents = false;
        File.WriteAllText(path, v2);
        watcher.EnableRaisingEvents = true;
        provider.Current.Model.Version.Should().Be("2026.11.1");

        // The watcher reports the overflow (FileSystemWatcher raises Error with InternalBufferOverflowException).
        typeof(FileSystemWatcher).GetMethod("OnError", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!
            .Invoke(watcher, [new ErrorEventArgs(new InternalBufferOverflowException())]);
        await WaitAsync(() => provider.Current.Model.Version == "2026.12.1", "the model reloaded after the watcher lost events");
        await host.StopAsync();
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public async Task ModelSwapUnderLoad_LosesNothing_AndRescoresEveryLeadWithTheNewVersion()
    {
        string dir = Directory.CreateTempSubdirectory("ls-model-").FullName;
        string path = Path.Combine(dir, "model.json");
        string v1 = File.ReadAllText(HostKit.Sample("model.json"));
        // Version 2 doubles the demo request and changes the version.
        string v2 = v1.Replace("\"version\": \"2026.11.1\"", "\"version\": \"2026.12.1\"", StringComparison.Ordinal)
                      .Replace("\"id\": \"demo-request\", \"score\": \"intent\", \"points\": 40", "\"id\": \"demo-request\", \"score\": \"intent\", \"points\": 80", StringComparison.Ordinal);
        v2.Should().NotBe(v1);
        File.WriteAllText(path, v1);
        var stages = new RecordingStageHandler();
        using var host = HostKit.Build(o =>
        {
            o.ModelPath = path;
            o.Workers = 2;
            o.BatchSize = 300;
            o.ReorderHorizon = null;
        }, b => b.Services.AddSingleton(stages).AddSingleton<IStageChangedHandler>(sp => sp.GetRequiredService<RecordingStageHandler>()));
        await host.StartAsync();
        var writer = host.Services.GetRequiredService<ILeadMessageWriter>();
        var messages = HostKit.SampleMessages();

        // Swap the model file while the messages are being written.
        var writing = Task.Run(async () =>
        {
            foreach (var m in messages)
            {
                await writer.WriteAsync(m);
            }
        });
        await WaitAsync(() => host.Services.GetRequiredService<ScoringPipeline>().Committed > 5_000, "first messages committed");
        File.WriteAllText(path, v2);
        await writing;
        await WaitAsync(() => host.Services.GetRequiredService<ModelProvider>().Current.Model.Version == "2026.12.1", "model swapped");
        await HostKit.WaitForDrainedAsync(host.Services, TimeSpan.FromSeconds(120));
        await host.StopAsync();

        File.WriteAllText(Path.Combine(dir, "v2.json"), v2);
        var expected = HostKit.Expected(messages, Path.Combine(dir, "v2.json"));
        var ids = expected.Select(e => System.Text.Json.JsonDocument.Parse(e).RootElement.GetProperty("leadId").GetString()!).ToList();
        (await HostKit.ActualAsync(host.Services, ids)).ShouldEqualLines(expected);
        stages.Calls.Select(c => c.IdempotencyKey).Should().OnlyHaveUniqueItems("a move is told once per model version");
    }

    [Fact]
    public async Task InvalidModelFile_IsRefusedAndLogged_AndTheOldModelKeepsScoring()
    {
        string dir = Directory.CreateTempSubdirectory("ls-model-").FullName;
        string path = Path.Combine(dir, "model.json");
        File.Copy(HostKit.Sample("model.json"), path);
        var logs = new CapturingLoggerProvider();
        using var host = HostKit.Build(o => o.ModelPath = path, logs: logs);
        await host.StartAsync();

        File.WriteAllText(path, File.ReadAllText(path).Replace("\"score\": \"engagement\", \"points\": 40", "\"score\": \"engagment\", \"points\": 40", StringComparison.Ordinal)
            .Replace("\"id\": \"pricing-page\", \"score\": \"engagement\"", "\"id\": \"pricing-page\", \"score\": \"engagment\"", StringComparison.Ordinal));
        await WaitAsync(() => logs.Entries.Any(e => e.Level == LogLevel.Error && e.Message.Contains("refused", StringComparison.Ordinal)), "the refusal to be logged");

        var error = logs.Entries.First(e => e.Level == LogLevel.Error && e.Message.Contains("refused", StringComparison.Ordinal));
        error.Message.Should().Contain("$.rules[10].score").And.Contain("did you mean 'engagement'");
        host.Services.GetRequiredService<ModelProvider>().Current.Model.Version.Should().Be("2026.11.1");
        var writer = host.Services.GetRequiredService<ILeadMessageWriter>();
        await writer.WriteAsync(LeadMessage.Track("m-1", "u-new", "Demo Requested", HostKit.AsOf.AddDays(-1)));
        await HostKit.WaitForCommittedAsync(host.Services, 1);
        (await host.Services.GetRequiredService<ILeadScoreReader>().GetLeadAsync("u-new", HostKit.AsOf))!["intent"].Should().BeApproximately(40 * Math.Pow(2, -1.0 / 14), 1e-9);
        await host.StopAsync();
    }

    [Fact]
    public async Task Metrics_CountAppliedRejectedAndStageTransitions()
    {
        string folder = Directory.CreateTempSubdirectory("ls-metrics-").FullName;
        File.Copy(HostKit.Sample("messages.jsonl"), Path.Combine(folder, "m.jsonl"));
        using var host = HostKit.Build(o => o.ModelPath = HostKit.Sample("model.json"), b => b.AddJsonLinesFolder(folder, f => f.Follow = false));
        var meter = host.Services.GetRequiredService<LeadScoringMetrics>().Meter;
        var counts = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var listener = new MeterListener
        {
            // Only this host's instruments: other tests run hosts in parallel.
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter, meter))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => counts.AddOrUpdate(instrument.Name, value, (_, v) => v + value));
        listener.Start();
        await host.StartAsync();
        await HostKit.WaitForDrainedAsync(host.Services, TimeSpan.FromSeconds(120));
        await host.StopAsync();

        counts.GetValueOrDefault("leadscoring.messages.rejected").Should().Be(6);
        counts.GetValueOrDefault("leadscoring.messages.applied").Should().Be(22462);
        counts.GetValueOrDefault("leadscoring.messages.duplicates").Should().Be(337);
        counts.GetValueOrDefault("leadscoring.stage.transitions").Should().BeGreaterThan(100);
    }
}
