using LeadScoring.Engine;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Orleans.Tests;

/// <summary>
/// The stage clock in the cluster: with no message arriving, each partition's run of the clock (what its reminder
/// calls) tells the moves leads make in silence (an MQL whose engagement decays leaves MQL), each once.
/// </summary>
[Collection(ClusterRun.Collection)]
public sealed class StageClockTests
{
    private static readonly DateTimeOffset Later = new(2027, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Quiet_leads_leave_their_stage_at_the_clock_and_each_move_is_told_once()
    {
        var run = new ClusterRun { Partitions = 4 };
        var cluster = await run.StartAsync(silos: 2);
        try
        {
            var client = run.Client(cluster);
            foreach (var chunk in File.ReadAllLines(Sample.Messages).Chunk(2_000))
            {
                await client.IngestJsonLinesAsync(System.Text.Encoding.UTF8.GetBytes(string.Join('\n', chunk) + "\n"));
            }

            run.Told.Clear();
            run.Time.SetUtcNow(Later);
            int told = 0;
            for (int p = 0; p < run.Partitions; p++)
            {
                told += await cluster.GrainFactory.GetGrain<IPartitionGrain>(p).RunStageClockAsync();
            }

            var expected = SilentMoves();
            expected.Should().Contain(m => m.Move.From == "mql", "the sample has MQLs that go quiet");
            run.Told.Select(a => (a.LeadId, new StageMove(a.From, a.To, a.At))).Should().BeEquivalentTo(expected);
            run.Told.Should().OnlyContain(a => a.MessageId == null && a.At <= Later);
            told.Should().Be(expected.Count);

            // A second run at the same instant tells nothing again.
            for (int p = 0; p < run.Partitions; p++)
            {
                (await cluster.GrainFactory.GetGrain<IPartitionGrain>(p).RunStageClockAsync()).Should().Be(0);
            }
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    /// <summary>One engine fed the file: per lead, the moves up to <see cref="Later"/> after those up to its latest message.</summary>
    private static List<(string Lead, StageMove Move)> SilentMoves()
    {
        var model = CompiledModel.Compile(ScoringModelLoader.LoadFile(Sample.Model).GetModelOrThrow());
        var engine = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = null });
        using (var file = File.OpenRead(Sample.Messages))
        {
            foreach (var record in MessageReader.Read(file))
            {
                if (record.Result.Message is { } m)
                {
                    engine.Apply(m);
                }
            }
        }

        var moves = new List<(string, StageMove)>();
        foreach (var id in engine.LeadIds())
        {
            var before = engine.EvaluateLatest(id)!.StageHistory.ToHashSet();
            moves.AddRange(engine.Evaluate(id, Later)!.StageHistory.Where(m => !before.Contains(m)).Select(m => (id, m)));
        }

        return moves;
    }
}
