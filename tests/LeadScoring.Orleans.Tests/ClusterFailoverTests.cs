using System.Text;
using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Orleans.Tests;

/// <summary>
/// Issue 15: the sample's 22,813 messages, shuffled, through a 3-silo TestCluster, one silo killed a third of the way
/// in (while a batch is being scored) and a new one added: every lead's scores, explanation and stage history equal,
/// byte for byte, what <c>leadscore score --explain</c> prints, and no stage move is told under two keys.
/// </summary>
[Collection(ClusterRun.Collection)]
public sealed class ClusterFailoverTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task Shuffled_sample_with_a_silo_killed_mid_stream_scores_byte_identical_to_leadscore_score()
    {
        var run = new ClusterRun();
        var cluster = await run.StartAsync(silos: 3);
        try
        {
            var client = run.Client(cluster);
            var lines = File.ReadAllLines(Sample.Messages).Where(l => l.Length > 0).ToArray();
            new Random(15).Shuffle(lines);
            var batches = lines.Chunk(500).ToArray();
            int accepted = 0;
            var rejected = new List<string>();
            long loadsBefore = 0;
            run.Spared = cluster.Primary!.SiloAddress;
            long rollbacks = Interlocked.Read(ref IdentityDirectoryGrain.Rollbacks);
            bool killed = false, armed = false;
            for (int i = 0; i < batches.Length; i++)
            {
                var bytes = Encoding.UTF8.GetBytes(string.Join('\n', batches[i]) + "\n");
                if (i == batches.Length / 3)
                {
                    // From a third of the way in: the next stage handler call on a secondary silo stops there, in the
                    // middle of a batch, and that silo is killed; the batch is rolled back to the log and sent again.
                    run.BlockNext = true;
                    armed = true;
                }

                var sending = client.IngestJsonLinesAsync(bytes, $"batch-{i}");
                if (armed && !killed && await Task.WhenAny(sending, run.Blocked.Task) == run.Blocked.Task)
                {
                    loadsBefore = Interlocked.Read(ref PartitionGrain.Loads);
                    var blocked = await run.Blocked.Task;
                    await cluster.KillSiloAsync(cluster.Silos.Single(s => s.SiloAddress.Equals(blocked)));
                    await cluster.StartAdditionalSiloAsync();
                    killed = true;
                }

                Collect(await sending);
            }

            output.WriteLine($"primary {run.Spared}; handler calls by silo: {string.Join(", ", run.CallsBySilo.Select(kv => $"{kv.Key}={kv.Value}"))}");
            killed.Should().BeTrue("a secondary silo was killed in the middle of a batch");
            void Collect(IngestResult result)
            {
                rejected.AddRange(result.Rejected.Select(r => r.Reason));
                accepted += result.Accepted + result.Ignored;
            }

            Interlocked.Read(ref IdentityDirectoryGrain.Rollbacks).Should().BeGreaterThan(rollbacks, "the batch in flight failed and was rolled back");
            // The killed silo held partitions (or the directory): they were loaded again from the log elsewhere.
            output.WriteLine($"partition loads after the kill: {Interlocked.Read(ref PartitionGrain.Loads) - loadsBefore}, batches rolled back: {IdentityDirectoryGrain.Rollbacks}");
            Interlocked.Read(ref PartitionGrain.Loads).Should().BeGreaterThan(loadsBefore);

            // The sample's bad records are reported (each with its place), not dropped: as the file's own reading says.
            using (var file = File.OpenRead(Sample.Messages))
            {
                var records = MessageReader.Read(file).ToList();
                rejected.Order().Should().Equal(records.Where(r => r.Result.IsRejected).Select(r => r.Result.Error!).Order());
                accepted.Should().Be(records.Count(r => !r.Result.IsRejected));
            }

            var expected = Sample.CliLines(explain: true);
            expected.Should().HaveCount(640);
            var actual = await client.EvaluateAllAsync(Sample.AsOf, explain: true);
            actual.Should().HaveCount(640);
            for (int i = 0; i < expected.Length; i++)
            {
                actual[i].Should().Be(expected[i], "lead line {0} must be byte-identical to leadscore score", i);
            }

            // One lead read through the client, explained.
            // Leads read one at a time through the client, explained: a user and an anonymous lead.
            foreach (var line in new[] { expected[0], expected[^1] })
            {
                string lead = System.Text.Json.JsonDocument.Parse(line).RootElement.GetProperty("leadId").GetString()!;
                (await client.GetLeadJsonAsync(lead, Sample.AsOf, explain: true)).Should().Be(line);
            }

            AssertStageNotifications(run);
        }
        finally
        {
            await cluster.StopAllSilosAsync();
            await cluster.DisposeAsync();
        }
    }

    /// <summary>
    /// Every stage move of every final lead (as one engine fed the file in order has it after each lead's latest
    /// message) was told, under one idempotency key only, whatever id the lead was known by when it was told.
    /// </summary>
    private static void AssertStageNotifications(ClusterRun run)
    {
        var model = CompiledModel.Compile(ScoringModelLoader.LoadFile(Sample.Model).GetModelOrThrow());
        var engine = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = null });
        using (var file = File.OpenRead(Sample.Messages))
        {
            foreach (var record in MessageReader.Read(file))
            {
                if (record.Result.Message is { } m && m.TimestampTicks <= Sample.AsOf.UtcTicks)
                {
                    engine.Apply(m);
                }
            }
        }

        var finalOf = new Dictionary<string, string>(StringComparer.Ordinal);
        var moves = new List<(string Lead, StageMove Move)>();
        foreach (var id in engine.LeadIds())
        {
            foreach (var known in engine.ExportLead(id)!.Ids.Append(id))
            {
                finalOf[known] = id;
            }

            moves.AddRange(engine.EvaluateLatest(id)!.StageHistory.Select(m => (id, m)));
        }

        moves.Should().NotBeEmpty("the sample has stage moves");
        var told = run.Told.ToList();
        told.Should().OnlyContain(a => finalOf.ContainsKey(a.LeadId), "every told lead id is an id of a final lead");
        var byMove = told.GroupBy(a => (Lead: finalOf[a.LeadId], a.From, a.To, a.At)).ToList();
        byMove.Where(g => g.Select(a => a.IdempotencyKey).Distinct().Count() > 1).Select(g => g.Key)
            .Should().BeEmpty("no stage move is told under two idempotency keys");
        var toldMoves = byMove.Select(g => (g.Key.Lead, new StageMove(g.Key.From, g.Key.To, g.Key.At))).ToHashSet();
        moves.Where(m => !toldMoves.Contains(m)).Should().BeEmpty("every stage move of the final leads was told");
    }
}
