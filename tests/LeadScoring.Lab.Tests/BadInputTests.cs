namespace LeadScoring.Lab.Tests;

/// <summary>Bad input gets a clear error and exit code 2, and nothing is written to --out or --report.</summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TempDir _dir = new();

    private (string Model, string Events) HandFiles(string? model = null) =>
        (_dir.Write("model.json", model ?? BacktestHandCheckTests.Model), _dir.Write("m.jsonl", BacktestHandCheckTests.Messages()));

    private void NothingWritten(CliResult r, params string[] files)
    {
        r.ExitCode.Should().Be(2, r.Stderr);
        r.Stdout.Should().BeEmpty();
        foreach (var f in files)
        {
            File.Exists(f).Should().BeFalse(f);
        }

        Directory.GetFiles(_dir.Path).Should().NotContain(f => f.EndsWith(".tmp", StringComparison.Ordinal));
    }

    [Fact]
    public void An_unknown_outcome_event_is_named_with_the_events_that_do_occur()
    {
        var (model, events) = HandFiles();
        string output = _dir.File("fitted.json"), report = _dir.File("r.html");
        var r = Cli.Run("fit", "--model", model, "--events", events, "--as-of", "2026-10-01T00:00:00Z", "--outcome", "Opportunity Won", "--out", output, "--report", report, "--force");
        NothingWritten(r, output, report);
        r.Stderr.Should().Contain("'Opportunity Won' does not occur").And.Contain("'Demo Requested'");

        var b = Cli.Run("backtest", "--model", model, "--events", events, "--as-of", "2026-10-01T00:00:00Z", "--outcome", "Opportunity Won", "--report", report);
        NothingWritten(b, report);
        b.Stderr.Should().Contain("does not occur");

        var s = Cli.Run("suggest", "--events", events, "--as-of", "2026-10-01T00:00:00Z", "--outcome", "Opportunity Won", "--out", output);
        NothingWritten(s, output);
    }

    [Fact]
    public void No_positives_is_refused_and_an_existing_out_file_is_left_as_it_was()
    {
        var (model, events) = HandFiles();
        string output = _dir.Write("fitted.json", "keep me");
        // As of a year later, every 'Deal Won' is in the past: no lead can convert in the window.
        var r = Cli.Run("fit", "--model", model, "--events", events, "--as-of", "2027-10-01T00:00:00Z", "--out", output, "--force");
        r.ExitCode.Should().Be(2);
        r.Stderr.Should().Contain("no lead converted");
        File.ReadAllText(output).Should().Be("keep me");
    }

    [Fact]
    public void Too_few_positives_is_refused_without_force()
    {
        var (model, events) = HandFiles();
        string output = _dir.File("fitted.json");
        var r = Cli.Run("fit", "--model", model, "--events", events, "--as-of", "2026-10-01T00:00:00Z", "--out", output);
        NothingWritten(r, output);
        r.Stderr.Should().Contain("too little data: 4 positives and 6 negatives").And.Contain("--force");
    }

    [Fact]
    public void A_model_that_does_not_validate_is_refused_with_every_error_and_its_path()
    {
        string bad = BacktestHandCheckTests.Model.Replace("\"points\": 30", "\"points\": \"thirty\"", StringComparison.Ordinal)
            .Replace("\"outcome\": { \"event\": \"Deal Won\" }", "\"outcome\": { \"event\": \"Deal Won\", \"withinDays\": -3 }", StringComparison.Ordinal);
        var (model, events) = HandFiles(bad);
        string output = _dir.File("fitted.json");
        var r = Cli.Run("fit", "--model", model, "--events", events, "--as-of", "2026-10-01T00:00:00Z", "--out", output, "--force");
        NothingWritten(r, output);
        r.Stderr.Should().Contain("$.rules[0].points").And.Contain("$.outcome.withinDays").And.Contain("2 error(s)");
    }

    [Fact]
    public void No_outcome_anywhere_is_a_clear_error()
    {
        string noOutcome = BacktestHandCheckTests.Model.Replace(",\n  \"outcome\": { \"event\": \"Deal Won\" }", "", StringComparison.Ordinal);
        noOutcome.Should().NotContain("outcome");
        var (model, events) = HandFiles(noOutcome);
        var r = Cli.Run("backtest", "--model", model, "--events", events, "--as-of", "2026-10-01T00:00:00Z");
        r.ExitCode.Should().Be(2);
        r.Stderr.Should().Contain("no outcome: pass --outcome NAME");
    }

    [Fact]
    public void A_bad_as_of_and_a_missing_events_file_are_clear_errors()
    {
        var (model, _) = HandFiles();
        var r = Cli.Run("backtest", "--model", model, "--events", _dir.File("missing.jsonl"), "--as-of", "2026-10-01T00:00:00Z");
        r.ExitCode.Should().Be(2);
        r.Stderr.Should().Contain("missing.jsonl: no such file");
        var t = Cli.Run("backtest", "--model", model, "--events", _dir.File("missing.jsonl"), "--as-of", "tomorrow");
        t.ExitCode.Should().Be(2);
        t.Stderr.Should().Contain("--as-of 'tomorrow' is not an ISO 8601 instant");
    }

    public void Dispose() => _dir.Dispose();
}
