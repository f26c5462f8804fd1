namespace LeadScoring.Cli.Tests;

/// <summary>
/// <c>leadscore score</c> keeps each counted message as its line in the file and replays leads from it: the output
/// must not depend on the order of the file's lines.
/// </summary>
public class ArrivalOrderTests(SampleScoreFixture sample) : IClassFixture<SampleScoreFixture>
{
    [Fact]
    public void Score_OfTheSampleShuffled_IsByteIdenticalToTheSampleInItsOrder()
    {
        var lines = File.ReadAllLines(TestData.Messages);
        var random = new Random(20261202);
        random.Shuffle(lines);
        string shuffled = Path.Combine(Path.GetTempPath(), $"leadscore-shuffled-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(shuffled, lines);
        try
        {
            var result = CliRunner.Run(["score", "--model", TestData.Model, "--events", shuffled, "--as-of", TestData.AsOf, "--explain"]);

            result.Stderr.Should().Contain("read 22813, applied 22462, duplicates 337, rejected 6");
            result.StdoutBytes.Should().Equal(sample.Explained.StdoutBytes, "the same messages in another order give the same output");
        }
        finally
        {
            File.Delete(shuffled);
        }
    }

    [Fact]
    public void Score_ReversedAndWithEveryLineTwice_IsByteIdenticalToTheSample()
    {
        var lines = File.ReadAllLines(TestData.Messages);
        string doubled = Path.Combine(Path.GetTempPath(), $"leadscore-doubled-{Guid.NewGuid():N}.jsonl");
        File.WriteAllLines(doubled, lines.Reverse().Concat(lines));
        try
        {
            var result = CliRunner.Run(["score", "--model", TestData.Model, "--events", doubled, "--as-of", TestData.AsOf, "--explain"]);

            result.StdoutBytes.Should().Equal(sample.Explained.StdoutBytes, "every copy after the first is a duplicate");
        }
        finally
        {
            File.Delete(doubled);
        }
    }
}
