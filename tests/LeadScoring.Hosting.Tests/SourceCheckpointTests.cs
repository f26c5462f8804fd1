using System.Text;
using LeadScoring.Messages;

namespace LeadScoring.Hosting.Tests;

/// <summary>
/// A source's records carry their checkpoint and location as numbers, written out only when read: the pipeline reads
/// the checkpoint of each source's last record of a batch, and the location of a rejected record, and no other.
/// </summary>
public class SourceCheckpointTests
{
    private const int Records = 3_000;

    [Fact]
    public async Task ThePipeline_StoresEachSourcesLastCheckpoint_AndWritesOutOnlyTheCheckpointsAndLocationsItStores()
    {
        var a = new CountingSource("a", rejectAt: 1_500);
        var b = new CountingSource("b", rejectAt: -1);
        var store = new InMemoryLeadStore();
        using (var host = HostKit.Build(
            o =>
            {
                o.ModelPath = HostKit.Sample("model.json");
                o.BatchSize = 1_000;
            },
            builder => builder.UseStore(_ => store).AddSource(a).AddSource(b)))
        {
            await host.StartAsync();
            await HostKit.WaitForDrainedAsync(host.Services, TimeSpan.FromSeconds(120));
            await host.StopAsync();
        }

        var positions = (IPipelinePositions)store;
        (await positions.GetCheckpointAsync("a", default)).Should().Be($"a@{Records}", "the checkpoint stored is the one after the source's last record");
        (await positions.GetCheckpointAsync("b", default)).Should().Be($"b@{Records}");

        var deadLetters = await ((ILeadStore)store).GetDeadLettersAsync(10, default);
        deadLetters.Should().ContainSingle().Which.Location.Should().Be("a: record 1500", "a rejected record is kept with its place");

        // Two sources, 6,000 records in batches of at most 1,000: a checkpoint written out per source and batch, at most
        // (the loop may cut smaller batches when the queue runs dry), never one per record.
        int batches = (2 * Records / 1_000) + 1;
        a.CheckpointsWritten.Should().BeGreaterThan(0).And.BeLessThanOrEqualTo(3 * batches, "only a batch's last record's checkpoint is read");
        b.CheckpointsWritten.Should().BeGreaterThan(0).And.BeLessThanOrEqualTo(3 * batches);
        a.LocationsWritten.Should().Be(1, "only the rejected record's location is read");
        b.LocationsWritten.Should().Be(0);
    }

    [Fact]
    public void ARecordsCheckpointAndLocation_AreWrittenOutWhenRead_FromItsOwnNumbers()
    {
        var source = new CountingSource("a", rejectAt: -1);
        var position = source.Position;
        var first = new SourceRecord(MessageParseResult.Reject("x"), position, 10, 1, unterminated: false, raw: null);
        var second = new SourceRecord(MessageParseResult.Reject("x"), position, 20, 2, unterminated: true, raw: "y");

        (first.Checkpoint, first.Location).Should().Be(("a@1", "a: record 1"));
        (second.Checkpoint, second.Location, second.Raw).Should().Be(("a@2+", "a: record 2", "y"));
        default(SourceRecord).Checkpoint.Should().BeNull("a default record has no position");
        new SourceRecord(MessageParseResult.Reject("x"), "cp", "here").Checkpoint.Should().Be("cp");
    }

    /// <summary>A source of <see cref="Records"/> track messages that counts the checkpoints and locations written out.</summary>
    private sealed class CountingSource(string name, int rejectAt) : ILeadMessageSource
    {
        private int _checkpoints, _locations;

        public string Name => name;

        public int CheckpointsWritten => Volatile.Read(ref _checkpoints);

        public int LocationsWritten => Volatile.Read(ref _locations);

        public RecordPosition Position => new Counting(this);

        public async IAsyncEnumerable<SourceRecord> ReadAsync(string? checkpoint, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            checkpoint.Should().BeNull("the store starts empty");
            var position = Position;
            for (int i = 1; i <= Records; i++)
            {
                string json = i == rejectAt
                    ? "{\"type\":\"track\""
                    : $$"""{"type":"track","event":"Demo Requested","userId":"{{name}}-{{i % 97}}","messageId":"{{name}}-m-{{i}}","timestamp":"2026-11-01T00:{{i / 60 % 60:D2}}:{{i % 60:D2}}Z"}""";
                var result = MessageParser.Parse(Encoding.UTF8.GetBytes(json));
                yield return new SourceRecord(result, position, i * 100L, i, unterminated: false, raw: result.IsRejected ? json : null);
                if (i % 500 == 0)
                {
                    await Task.Yield();
                }
            }
        }

        private sealed class Counting(CountingSource source) : RecordPosition
        {
            public override string Checkpoint(long offset, long line, bool unterminated)
            {
                Interlocked.Increment(ref source._checkpoints);
                return $"{source.Name}@{line}{(unterminated ? "+" : "")}";
            }

            public override string Location(long line)
            {
                Interlocked.Increment(ref source._locations);
                return $"{source.Name}: record {line}";
            }
        }
    }
}
