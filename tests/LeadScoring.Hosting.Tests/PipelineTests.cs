using LeadScoring.Tests.Shared;
using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LeadScoring.Hosting.Tests;

public class PipelineTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public async Task DuplicateAndLateDelivery_ThroughThePipeline_GivesTheBatchResult(int workers)
    {
        var messages = HostKit.SampleMessages();
        // Late: locally shuffled (each message at most ~200 places away); duplicates: 5% delivered twice.
        var delivered = messages.Select((m, i) => (m, key: i + new Random(i).Next(200))).OrderBy(x => x.key).Select(x => x.m).ToList();
        delivered.AddRange(messages.Where((_, i) => i % 20 == 0));
        var stages = new RecordingStageHandler();
        using var host = HostKit.Build(o =>
        {
            o.ModelPath = HostKit.Sample("model.json");
            o.Workers = workers;
            o.BatchSize = 500;
            o.ReorderHorizon = null;
        }, b => b.Services.AddSingleton(stages).AddSingleton<IStageChangedHandler>(sp => sp.GetRequiredService<RecordingStageHandler>()));
        await host.StartAsync();
        var writer = host.Services.GetRequiredService<ILeadMessageWriter>();

        foreach (var m in delivered)
        {
            await writer.WriteAsync(m);
        }

        var expected = HostKit.Expected(messages);
        var ids = expected.Select(e => System.Text.Json.JsonDocument.Parse(e).RootElement.GetProperty("leadId").GetString()!).ToList();
        await HostKit.WaitForDrainedAsync(host.Services, TimeSpan.FromSeconds(180));
        await host.StopAsync();

        (await HostKit.ActualAsync(host.Services, ids)).ShouldEqualLines(expected);
        // Every stage move up to each lead's latest message was told to the handler (keys de-duplicate re-tellings):
        // the histories as of the latest message, without the moves the stage clock makes in silence after it and
        // the re-evaluation at the as-of time, which no message brings to the pipeline.
        var told = stages.Calls.Select(c => (c.LeadId, c.From, c.To, c.At)).ToHashSet();
        var engine = new LeadScoringEngine(
            CompiledModel.Compile(ScoringModelLoader.LoadFile(HostKit.Sample("model.json")).GetModelOrThrow()),
            new LeadScoringEngineOptions { ReorderHorizon = null });
        foreach (var m in messages)
        {
            engine.Apply(m);
        }

        var final = ids.SelectMany(id => engine.EvaluateLatest(id)!.StageHistory.Select(h => (id, h.From, h.To, h.At))).ToList();
        final.Should().NotBeEmpty();
        told.Should().Contain(final);
    }

    [Fact]
    public async Task FolderSource_IsReadToTheEnd_AndResumesFromItsCheckpoint_WithoutCountingTwice()
    {
        string folder = Directory.CreateTempSubdirectory("ls-folder-").FullName;
        var lines = File.ReadAllLines(HostKit.Sample("messages.jsonl"));
        File.WriteAllLines(Path.Combine(folder, "a.jsonl"), lines.Take(10_000));
        var store = new InMemoryLeadStore();

        using (var first = HostKit.Build(o => o.ModelPath = HostKit.Sample("model.json"), b => b.UseStore(_ => store).AddJsonLinesFolder(folder, f => f.Follow = false)))
        {
            await first.StartAsync();
            await HostKit.WaitForDrainedAsync(first.Services, TimeSpan.FromSeconds(180));
            await first.StopAsync();
        }

        // New lines arrive while the host is down; the second run resumes after the checkpoint.
        File.WriteAllLines(Path.Combine(folder, "b.jsonl"), lines.Skip(10_000));
        using var second = HostKit.Build(o => o.ModelPath = HostKit.Sample("model.json"), b => b.UseStore(_ => store).AddJsonLinesFolder(folder, f => f.Follow = false));
        await second.StartAsync();
        await HostKit.WaitForDrainedAsync(second.Services, TimeSpan.FromSeconds(180));
        await second.StopAsync();

        var expected = HostKit.Expected(HostKit.SampleMessages());
        var ids = expected.Select(e => System.Text.Json.JsonDocument.Parse(e).RootElement.GetProperty("leadId").GetString()!).ToList();
        (await HostKit.ActualAsync(second.Services, ids)).ShouldEqualLines(expected);
        var deadLetters = await ((ILeadStore)store).GetDeadLettersAsync(100, default);
        deadLetters.Should().HaveCount(6, "the sample's six broken lines are kept with their reasons");
        deadLetters.Should().Contain(d => d.Location == "a.jsonl: line 1234" && d.Reason.StartsWith("not valid JSON", StringComparison.Ordinal));
        int counted = 0;
        await foreach (var _ in ((ILeadStore)store).LoggedMessagesAsync(default))
        {
            counted++;
        }

        var reference = new LeadScoring.Engine.LeadScoringEngine(
            LeadScoring.Engine.CompiledModel.Compile(LeadScoring.Model.ScoringModelLoader.LoadFile(HostKit.Sample("model.json")).GetModelOrThrow()),
            new LeadScoring.Engine.LeadScoringEngineOptions { ReorderHorizon = null });
        foreach (var m in HostKit.SampleMessages())
        {
            reference.Apply(m);
        }

        long distinct = reference.Statistics.Applied + reference.Statistics.Reordered;
        counted.Should().Be((int)distinct, "every counted message is logged once: nothing lost, no retry twice");
    }
}
