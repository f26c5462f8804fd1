namespace LeadScoring.Cli.Tests;

/// <summary>
/// The sample scored once as of <see cref="TestData.AsOf"/>, with and without <c>--explain</c>, shared by the
/// tests that only read the result.
/// </summary>
public sealed class SampleScoreFixture
{
    private readonly Lazy<CliResult> _plain = new(() => ScoreSample());
    private readonly Lazy<CliResult> _explained = new(() => ScoreSample("--explain"));

    internal CliResult Plain => _plain.Value;

    internal CliResult Explained => _explained.Value;

    internal static CliResult ScoreSample(params string[] extra) =>
        CliRunner.Run(["score", "--model", TestData.Model, "--events", TestData.Messages, "--as-of", TestData.AsOf, .. extra]);
}
