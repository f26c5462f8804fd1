using CsCheck;
using LeadScoring.Reference;
using LeadScoring.Tests.Reference;

namespace LeadScoring.Tests.Properties;

/// <summary>
/// The engine against the independent reference scorer (tests/LeadScoring.Reference), which computes the contract's
/// formulas naively from scratch: same lead ids, grades, personas, stages, stage histories, award and suppressed
/// counts; scores and points within a relative 1e-9. Every engine call goes through <see cref="EngineUnderTest"/>.
/// The reference is slow: these tests run alone (not beside the allocation tests, which measure per thread but are
/// sensitive to a loaded machine).
/// </summary>
[Collection(ReferencePropertiesCollection.Name)]
public class ReferencePropertiesTests
{
    private static Gen<ScoringCase> Cases(Gen<int> stageCheckHours) =>
        Gen.Select(ReferenceGen.Models(stageCheckHours), ReferenceGen.Messages)
            .Select(x => new ScoringCase(x.Item1.Name, x.Item1.Json, x.Item2.Lines, x.Item2.AsOf));

    private static void EngineAgreesWithTheReference(ScoringCase c)
    {
        foreach (bool explain in new[] { true, false })
        {
            EngineAgreesWithTheReference(c, ReferenceScorer.Score(c.Model, c.Lines, c.AsOf, explain), explain);
        }
    }

    private static void EngineAgreesWithTheReference(ScoringCase c, IReadOnlyList<ReferenceLead> expected, bool explain, int batch = 0, bool replayAtOnce = false) =>
        AgreesWithTheReference(c, expected, EngineUnderTest.Score(c.Model, c.Lines, c.AsOf, explain, batch, replayAtOnce), explain);

    private static void AgreesWithTheReference(ScoringCase c, IReadOnlyList<ReferenceLead> expected, IReadOnlyList<ReferenceLead> actual, bool explain)
    {
        var differences = ReferenceComparison.Differences(expected, actual);
        if (differences.Count > 0)
        {
            throw new Xunit.Sdk.XunitException(
                $"The engine differs from the reference (explain: {explain}):\n  " + string.Join("\n  ", differences) +
                "\nreference:\n" + string.Join("\n", ReferenceScorer.Render(expected)) +
                "\nengine:\n" + string.Join("\n", ReferenceScorer.Render(actual)));
        }
    }

    [Fact]
    public void The_engine_scores_any_message_set_as_the_reference_does_without_a_stage_clock()
    {
        Cases(Gen.Const(0)).Sample(EngineAgreesWithTheReference, iter: 400);
    }

    [Theory]
    [InlineData("2026-11-30T00:00:00Z")] // after every message, as the command-line tests score it
    [InlineData("2026-10-15T12:00:00Z")] // in the middle: later messages and later identity links do not count
    public void The_engine_scores_the_sample_as_the_reference_does(string asOf)
    {
        var c = new ScoringCase(
            "sample",
            ReferenceGen.WithClock(File.ReadAllText(TestData.SamplePath("model.json")), 0),
            File.ReadAllLines(TestData.SamplePath("messages.jsonl")),
            DateTimeOffset.Parse(asOf, System.Globalization.CultureInfo.InvariantCulture));

        // The reference is slow on 22,813 messages (seconds): one run, with contributions.
        var expected = ReferenceScorer.Score(c.Model, c.Lines, c.AsOf, explain: true);

        expected.Should().HaveCountGreaterThan(100);
        EngineAgreesWithTheReference(c, expected, explain: true);
    }

    // The batch apply (prefetch hints ahead of the message applied): the reference's answers, batches of 1 to 40.
    [Fact]
    public void The_engine_scores_any_message_set_as_the_reference_does_when_messages_come_in_batches()
    {
        Gen.Select(Cases(Gen.Const(0)), Gen.Int[1, 40]).Sample(
            x => EngineAgreesWithTheReference(x.Item1, ReferenceScorer.Score(x.Item1.Model, x.Item1.Lines, x.Item1.AsOf, explain: true), explain: true, x.Item2),
            iter: 200);
    }

    // The same on flat rows, where the batch apply fetches the rows ahead: canonical-like model and streams.
    [Fact]
    public void Flat_rows_score_as_the_reference_does_when_messages_come_in_batches() =>
        FlatRowsAgreeInBatches(LeadScoring.Tests.Engine.FlatStreams.Stream, Gen.Int[1, 40], iter: 100);

    // The batch apply looks at up to 256 messages before it applies them: batches longer than that, on long streams.
    [Fact]
    public void Flat_rows_score_as_the_reference_does_in_batches_longer_than_the_look_ahead() =>
        FlatRowsAgreeInBatches(LeadScoring.Tests.Engine.FlatStreams.LongStream, Gen.Int[257, 800], iter: 40);

    // The engine's default, a lead made stale replayed at once (the batch apply replays the leads a batch made stale
    // when it ends, their lists walked side by side): any message set, in batches of 1 to 40.
    [Fact]
    public void The_engine_scores_any_message_set_as_the_reference_does_in_batches_replaying_at_once()
    {
        Gen.Select(Cases(Gen.Const(0)), Gen.Int[1, 40]).Sample(
            x => EngineAgreesWithTheReference(x.Item1, ReferenceScorer.Score(x.Item1.Model, x.Item1.Lines, x.Item1.AsOf, explain: true), explain: true, x.Item2, replayAtOnce: true),
            iter: 100);
    }

    // The same on flat rows, on long streams made to arrive out of order: messages arriving up to 30 places late, copies
    // up to 100 places later, and aliases that merge two leads with history; batches of 1 to 600, so one batch often
    // makes several leads stale, and the same lead stale more than once.
    [Fact]
    public void Flat_rows_score_as_the_reference_does_out_of_order_in_batches_replaying_at_once() =>
        Gen.Select(LeadScoring.Tests.Engine.FlatStreams.LongStream, Gen.Int[0, int.MaxValue], Gen.Int[1, 600]).Sample(x =>
        {
            var c = new ScoringCase("flat, out of order", LeadScoring.Tests.Engine.FlatStreams.ModelJson, OutOfOrder(x.Item1.Messages, x.Item2), x.Item1.AsOf);
            EngineAgreesWithTheReference(c, ReferenceScorer.Score(c.Model, c.Lines, c.AsOf, explain: true), explain: true, x.Item3, replayAtOnce: true);
        }, iter: 40);

    // The engine's default keeps a lead's messages for a reorder horizon and folds older ones into a base state (on
    // flat rows a row of its own, to which the in-order step applies them). In-order streams, horizons of 1 to 30 days
    // (a long stream spans months), one by one or in batches: the reference's answers, and most cases fold.
    [Fact]
    public void Flat_rows_with_a_reorder_horizon_score_in_order_streams_as_the_reference_does()
    {
        int cases = 0, folded = 0;
        Gen.Select(LeadScoring.Tests.Engine.FlatStreams.LongStream, Gen.Int[1, 30], Gen.Int[0, 40]).Sample(x =>
        {
            var c = new ScoringCase("flat, horizon", LeadScoring.Tests.Engine.FlatStreams.ModelJson, [.. x.Item1.Messages.Select(m => m.ToJson())], x.Item1.AsOf);
            var actual = EngineUnderTest.Score(c.Model, c.Lines, c.AsOf, explain: true, x.Item3, replayAtOnce: true, TimeSpan.FromDays(x.Item2), engine =>
            {
                engine.Statistics.BeyondHorizon.Should().Be(0, "in-order messages are never beyond the horizon");
                Interlocked.Increment(ref cases);
                var (leads, baseRows) = engine.FoldedLeads;
                baseRows.Should().Be(leads, "on flat rows every base state is a row");
                if (leads > 0)
                {
                    Interlocked.Increment(ref folded);
                }
            });
            AgreesWithTheReference(c, ReferenceScorer.Score(c.Model, c.Lines, c.AsOf, explain: true), actual, explain: true);
        }, iter: 40);

        folded.Should().BeGreaterThan(cases / 2, "most cases must fold messages into a base state to test it");
    }

    // The same with messages arriving out of order (late up to 30 places, copies up to 100 places later), horizons of 60
    // to 400 days: where no message came beyond the horizon (counted, and applied as it comes, by design), the
    // reference's answers. No aliases: a merge of two leads that both folded is beyond the horizon by design.
    [Fact]
    public void Flat_rows_with_a_reorder_horizon_score_late_messages_within_it_as_the_reference_does()
    {
        int compared = 0, folded = 0;
        Gen.Select(LeadScoring.Tests.Engine.FlatStreams.LongStream, Gen.Int[0, int.MaxValue], Gen.Int[60, 400], Gen.Int[0, 600]).Sample(x =>
        {
            var c = new ScoringCase("flat, horizon, out of order", LeadScoring.Tests.Engine.FlatStreams.ModelJson, OutOfOrder(x.Item1.Messages, x.Item2, merges: false), x.Item1.AsOf);
            bool exact = false, folds = false;
            var actual = EngineUnderTest.Score(c.Model, c.Lines, c.AsOf, explain: true, x.Item4, replayAtOnce: true, TimeSpan.FromDays(x.Item3), engine =>
            {
                exact = engine.Statistics.BeyondHorizon == 0;
                folds = engine.FoldedLeads.BaseRows > 0;
            });
            if (exact)
            {
                Interlocked.Increment(ref compared);
                folded += folds ? 1 : 0;
                AgreesWithTheReference(c, ReferenceScorer.Score(c.Model, c.Lines, c.AsOf, explain: true), actual, explain: true);
            }
        }, iter: 60, threads: 1);

        compared.Should().BeGreaterThan(20, "most cases must have no message beyond the horizon to be compared");
        folded.Should().BeGreaterThan(compared / 3, "many compared cases must fold messages into a base state");
    }

    // The same on dense streams (at most a day between messages), where the limit windows fill, so the window times a
    // replay rebuilds decide awards.
    [Fact]
    public void Flat_rows_score_as_the_reference_does_out_of_order_with_full_limit_windows()
    {
        int cases = 0, suppressed = 0;
        Gen.Select(LeadScoring.Tests.Engine.FlatStreams.DenseLongStream, Gen.Int[0, int.MaxValue], Gen.Int[1, 600]).Sample(x =>
        {
            var c = new ScoringCase("flat, dense, out of order", LeadScoring.Tests.Engine.FlatStreams.ModelJson, OutOfOrder(x.Item1.Messages, x.Item2), x.Item1.AsOf);
            var expected = ReferenceScorer.Score(c.Model, c.Lines, c.AsOf, explain: true);
            Interlocked.Increment(ref cases);
            if (expected.Any(l => l.Contributions?.Any(r => r.Suppressed > 0) == true))
            {
                Interlocked.Increment(ref suppressed);
            }

            EngineAgreesWithTheReference(c, expected, explain: true, x.Item3, replayAtOnce: true);
        }, iter: 40);

        suppressed.Should().BeGreaterThan(cases / 2, "most cases must suppress awards by their limits");
    }

    // The batch apply leaves a fold that falls due to the batch's end (the folding leads' lists are then walked side by
    // side), and runs it earlier when the lead's next message comes or a message goes the general way, so that every
    // fold sees what it would have at once. Against the same batches with each fold run as it falls due: the leads'
    // results, the counters, which leads keep a base row and how many messages each lead's history holds (the folds ran
    // at the same points), beyond the horizon too, where the reference has nothing to say (a message beyond the horizon
    // is applied as it comes, by design). Six leads, late messages, copies and merges, horizons of 1 to 40 days,
    // batches of 2 to 300.
    [Fact]
    public void The_batch_apply_folds_when_its_batch_ends_with_the_results_of_folding_at_once()
    {
        int cases = 0, beyond = 0, merged = 0;
        Gen.Select(LeadScoring.Tests.Engine.FlatStreams.LongStream, Gen.Int[0, int.MaxValue], Gen.Int[1, 40], Gen.Int[2, 300]).Sample(x =>
        {
            var lines = OutOfOrder(x.Item1.Messages, x.Item2);
            var horizon = TimeSpan.FromDays(x.Item3);
            string? atOnce = null, atBatchEnd = null;
            var expected = EngineUnderTest.Score(LeadScoring.Tests.Engine.FlatStreams.ModelJson, lines, x.Item1.AsOf, explain: true, x.Item4, replayAtOnce: true, horizon,
                e => atOnce = Observed(e), foldsWaitForBatchEnd: false);
            var actual = EngineUnderTest.Score(LeadScoring.Tests.Engine.FlatStreams.ModelJson, lines, x.Item1.AsOf, explain: true, x.Item4, replayAtOnce: true, horizon, e =>
            {
                atBatchEnd = Observed(e);
                beyond += e.Statistics.BeyondHorizon > 0 ? 1 : 0;
                merged += e.Statistics.Merges > 0 ? 1 : 0;
            });
            cases++;
            actual.Should().BeEquivalentTo(expected, o => o.WithStrictOrdering(), "batches of {0}, a horizon of {1} days", x.Item4, x.Item3);
            atBatchEnd.Should().Be(atOnce, "batches of {0}, a horizon of {1} days", x.Item4, x.Item3);
        }, iter: 60, threads: 1);

        beyond.Should().BeGreaterThan(cases / 3, "many cases must have messages beyond the horizon");
        merged.Should().BeGreaterThan(cases / 3, "many cases must merge leads");

        static string Observed(LeadScoring.Engine.LeadScoringEngine e)
        {
            var s = e.Statistics;
            var (leads, baseRows) = e.FoldedLeads;
            return $"applied {s.Applied}, reordered {s.Reordered}, beyond {s.BeyondHorizon}, duplicates {s.Duplicates}, merges {s.Merges}, replays {s.Replays}; "
                + $"folded {leads}, base rows {baseRows}; kept: " + string.Join(", ", e.LeadIds().Select(id => $"{id} {e.HistoryLength(id)}"));
        }
    }

    /// <summary>An in-order stream as lines arriving out of order (late, repeated, with merges), drawn from <paramref name="seed"/>.</summary>
    private static List<string> OutOfOrder(IReadOnlyList<LeadScoring.Messages.LeadMessage> messages, int seed, bool merges = true)
    {
        var random = new Random(seed);
        var lines = new List<string>();
        var due = new SortedDictionary<int, List<string>>();
        void Later(int at, string line)
        {
            if (!due.TryGetValue(at, out var list))
            {
                due[at] = list = [];
            }

            list.Add(line);
        }

        for (int i = 0; i < messages.Count; i++)
        {
            string line = messages[i].ToJson();
            double roll = random.NextDouble();
            if (roll < 0.1)
            {
                Later(i + random.Next(1, 31), line);
            }
            else
            {
                lines.Add(line);
                if (roll < 0.18)
                {
                    Later(i + random.Next(1, 101), line);
                }
            }

            if (random.NextDouble() < 0.02 && merges)
            {
                // Two of the stream's leads become one (both usually have history by now).
                int a = random.Next(6), b = (a + 1 + random.Next(5)) % 6;
                Later(i + random.Next(0, 20), LeadScoring.Messages.LeadMessage.Alias($"alias-{i}", $"u-{a}", $"u-{b}", messages[i].Timestamp).ToJson());
            }

            if (due.Remove(i, out var now))
            {
                lines.AddRange(now);
            }
        }

        foreach (var rest in due.Values)
        {
            lines.AddRange(rest);
        }

        return lines;
    }

    private static void FlatRowsAgreeInBatches(Gen<LeadScoring.Tests.Engine.FlatCase> streams, Gen<int> batches, int iter) =>
        Gen.Select(streams, batches).Sample(x =>
        {
            var c = new ScoringCase("flat", LeadScoring.Tests.Engine.FlatStreams.ModelJson, [.. x.Item1.Messages.Select(m => m.ToJson())], x.Item1.AsOf);
            EngineAgreesWithTheReference(c, ReferenceScorer.Score(c.Model, c.Lines, c.AsOf, explain: true), explain: true, x.Item2);
        }, iter: iter);

    // Contract revision 2: the stage clock, with ticks every 1 to 48 hours.
    [Fact]
    public void The_engine_scores_any_message_set_as_the_reference_does_with_a_stage_clock()
    {
        Cases(Gen.Int[1, 48]).Sample(EngineAgreesWithTheReference, iter: 200);
    }
}

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ReferencePropertiesCollection
{
    public const string Name = "Reference scorer properties";
}
