using LeadScoring.Engine;
using LeadScoring.Tests.Shared;
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

    [Theory]
    [InlineData(1, 700)]
    [InlineData(3, 1_300)]
    public async Task TopAndInStage_AreTheOrderOfTheCommittedHistory_BetweenAndAtStateCheckpoints_AndEvaluateOnlyTheLeadsTheyReturn(int workers, int checkpointMessages)
    {
        // Late messages, retries, anonymous visitors who identify, merges, account messages.
        var messages = ScoreHistoryRuns.Messages(4_000);
        ILeadStore store = new InMemoryLeadStore();
        using var host = HostKit.Build(o =>
        {
            o.ModelPath = HostKit.Sample("model.json");
            o.Workers = workers;
            o.BatchSize = 250;
            o.BatchDelay = TimeSpan.FromMilliseconds(5);
            o.ReorderHorizon = ScoreHistoryRuns.Horizon;
            o.StateCheckpointMessages = checkpointMessages;   // checkpoints at odd points of the batches
            o.StateCheckpointInterval = TimeSpan.FromHours(1);
        }, b => b.UseStore(_ => store));
        await host.StartAsync();
        var writer = host.Services.GetRequiredService<ILeadMessageWriter>();
        var reader = host.Services.GetRequiredService<ILeadScoreReader>();
        var pipeline = host.Services.GetRequiredService<ScoringPipeline>();
        var ids = messages.SelectMany(m => new[] { m.UserId, m.AnonymousId }).OfType<string>().Distinct().ToList();

        int sent = 0;
        bool lagged = false;
        foreach (int upTo in new[] { 333, 1_000, 1_777, 2_500, 3_300, messages.Count })
        {
            for (; sent < upTo; sent++)
            {
                await writer.WriteAsync(messages[sent]);
            }

            await HostKit.WaitForDrainedAsync(host.Services);
            var expected = await OutcomeExpectation.FromHistoryAsync(reader, ids);
            await expected.ShouldMatchAsync(reader, pipeline, $"after {upTo} messages");
            lagged |= !(await store.TopAsync("total", int.MaxValue, default)).Ids().SequenceEqual(expected.Top("total"));
        }

        lagged.Should().BeTrue("between state checkpoints the store's outcome tables lag behind: the overlay made up the difference");
        await host.StopAsync();

        // The drain's checkpoint wrote every outcome: the store's own order is now the history's.
        var final = await OutcomeExpectation.FromHistoryAsync(reader, ids);
        (await store.TopAsync("total", int.MaxValue, default)).Ids().Should().Equal(final.Top("total"));
        (await store.InStageAsync("mql", int.MaxValue, default)).Ids().Should().Equal(final.Stage("mql"));
    }
}

/// <summary>
/// The orders <c>TopAsync</c> and <c>InStageAsync</c> must give, worked out here from the committed score history: each
/// lead's latest entry (the last one <see cref="ILeadScoreReader.GetHistoryAsync"/> returns), sorted with LINQ (highest
/// first, NaN last, ties by lead id ordinal), as if the outcome tables were written with every commit.
/// </summary>
internal sealed class OutcomeExpectation(List<ScoreHistoryEntry> latest)
{
    public static readonly string[] Scores = ["fit", "engagement", "intent", "total"];
    public static readonly string[] Stages = ["lead", "mql", "sql", "MQL", "customer"];

    /// <summary>The latest history entry of every lead among <paramref name="ids"/> (an id merged away or renamed has none).</summary>
    public static async Task<OutcomeExpectation> FromHistoryAsync(ILeadScoreReader reader, IEnumerable<string> ids)
    {
        var latest = new List<ScoreHistoryEntry>();
        foreach (var id in ids)
        {
            if (await reader.GetHistoryAsync(id) is { Count: > 0 } history)
            {
                latest.Add(history[^1]);
            }
        }

        return new OutcomeExpectation(latest);
    }

    public List<string> Top(string score) => [.. latest.Where(e => e.Scores.Any(s => s.Key == score))
        .OrderByDescending(e => e.Scores.First(s => s.Key == score).Value).ThenBy(e => e.LeadId, StringComparer.Ordinal).Select(e => e.LeadId)];

    public List<string> Stage(string stage) => [.. latest.Where(e => string.Equals(e.Stage, stage, StringComparison.OrdinalIgnoreCase))
        .OrderByDescending(e => e.Scores.Count > 0 ? e.Scores[0].Value : 0).ThenBy(e => e.LeadId, StringComparer.Ordinal).Select(e => e.LeadId)];

    /// <summary>Every score's and stage's order, whole and its first few (those evaluated, and only those).</summary>
    public async Task ShouldMatchAsync(ILeadScoreReader reader, ScoringPipeline pipeline, string when)
    {
        latest.Should().HaveCountGreaterThan(50, when);
        foreach (var score in Scores)
        {
            (await reader.TopAsync(score, int.MaxValue)).Select(r => r.LeadId).Should().Equal(Top(score), "top {0} {1}", score, when);
            long before = Interlocked.Read(ref pipeline.ListEvaluations);
            (await reader.TopAsync(score, 7)).Select(r => r.LeadId).Should().Equal(Top(score).Take(7), "top 7 {0} {1}", score, when);
            Interlocked.Read(ref pipeline.ListEvaluations).Should().Be(before + Math.Min(7, Top(score).Count), "only the listed leads are evaluated, not the {0} leads", latest.Count);
        }

        foreach (var stage in Stages)
        {
            (await reader.InStageAsync(stage, int.MaxValue)).Select(r => r.LeadId).Should().Equal(Stage(stage), "stage {0} {1}", stage, when);
            long before = Interlocked.Read(ref pipeline.ListEvaluations);
            (await reader.InStageAsync(stage, 3)).Select(r => r.LeadId).Should().Equal(Stage(stage).Take(3), "stage {0} (3) {1}", stage, when);
            Interlocked.Read(ref pipeline.ListEvaluations).Should().Be(before + Math.Min(3, Stage(stage).Count));
        }
    }
}
