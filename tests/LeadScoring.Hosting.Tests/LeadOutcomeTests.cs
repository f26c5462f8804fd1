using LeadScoring.Engine;
using LeadScoring.Tests.Shared.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace LeadScoring.Hosting.Tests;

/// <summary>
/// Issue 13, indexed reads: the in-memory store keeps each lead's current outcome (its latest history entry) in order,
/// and the pipeline's <c>TopAsync</c>/<c>InStageAsync</c> read that order and evaluate only the leads they return.
/// </summary>
public sealed class LeadOutcomeTests
{
    [Theory]
    [InlineData(13)]
    [InlineData(14)]
    public async Task InMemoryStore_Outcomes_AreEachLeadsLatestHistoryEntry_ThroughRenamesCutsAndARescoring(int seed)
    {
        var scenario = new OutcomeScenario(seed);
        ILeadStore store = new InMemoryLeadStore();
        for (int i = 0; i < scenario.Batches.Count; i++)
        {
            await store.CommitAsync(scenario.Batches[i], default);
            await scenario.ShouldMatchAsync(store, i + 1);
        }
    }

    [Fact]
    public async Task TopAndInStage_ReadTheStoresOrder_AndEvaluateOnlyTheLeadsTheyReturn()
    {
        var messages = HostKit.SampleMessages().Take(4_000).ToList();
        var reference = new LeadScoringEngine(CompiledModel.Compile(LeadScoring.Model.ScoringModelLoader.LoadFile(HostKit.Sample("model.json")).GetModelOrThrow()), new LeadScoringEngineOptions { ReorderHorizon = null });
        foreach (var m in messages)
        {
            reference.Apply(m);
        }

        using var host = HostKit.Build(o =>
        {
            o.ModelPath = HostKit.Sample("model.json");
            o.BatchSize = 500;
            o.ReorderHorizon = null;
        });
        await host.StartAsync();
        var writer = host.Services.GetRequiredService<ILeadMessageWriter>();
        foreach (var m in messages)
        {
            await writer.WriteAsync(m);
        }

        await HostKit.WaitForCommittedAsync(host.Services, reference.Statistics.Applied + reference.Statistics.Reordered);
        var pipeline = host.Services.GetRequiredService<ScoringPipeline>();
        var reader = host.Services.GetRequiredService<ILeadScoreReader>();

        // The expectation: every lead's latest committed history entry, sorted here.
        var leadIds = reference.EvaluateAll(HostKit.AsOf).Select(r => r.LeadId).ToList();
        leadIds.Should().HaveCountGreaterThan(100);
        var latest = new List<ScoreHistoryEntry>();
        foreach (var id in leadIds)
        {
            latest.Add((await reader.GetHistoryAsync(id))[^1]);
        }

        var byTotal = latest.OrderByDescending(e => e.Scores.Single(s => s.Key == "total").Value).ThenBy(e => e.LeadId, StringComparer.Ordinal).Select(e => e.LeadId).ToList();
        var mql = latest.Where(e => e.Stage == "mql").OrderByDescending(e => e.Scores[0].Value).ThenBy(e => e.LeadId, StringComparer.Ordinal).Select(e => e.LeadId).ToList();
        mql.Should().HaveCountGreaterThan(5);

        long before = Interlocked.Read(ref pipeline.ListEvaluations);
        var top = await reader.TopAsync("total", 5);
        top.Select(r => r.LeadId).Should().Equal(byTotal.Take(5));
        Interlocked.Read(ref pipeline.ListEvaluations).Should().Be(before + 5, "only the five listed leads are evaluated, not the {0} leads", leadIds.Count);

        before = Interlocked.Read(ref pipeline.ListEvaluations);
        var inMql = await reader.InStageAsync("MQL", 3);
        inMql.Select(r => r.LeadId).Should().Equal(mql.Take(3));
        Interlocked.Read(ref pipeline.ListEvaluations).Should().Be(before + 3);

        // Each listed lead is evaluated now, as GetLeadAsync does (without the explanation).
        var now = await reader.GetLeadAsync(top[0].LeadId);
        top[0].ValueAt(0).Should().Be(now!.ValueAt(0));
        (await reader.InStageAsync("mql", int.MaxValue)).Select(r => r.LeadId).Should().Equal(mql);

        var unknown = async () => await reader.TopAsync("totl", 5);
        (await unknown.Should().ThrowAsync<ArgumentException>()).WithMessage("*totl*");
        await host.StopAsync();
    }
}
