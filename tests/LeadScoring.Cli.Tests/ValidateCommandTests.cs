using System.Text.RegularExpressions;

namespace LeadScoring.Cli.Tests;

public sealed class ValidateCommandTests
{
    [Fact]
    public void Validating_the_sample_model_prints_exactly_its_one_line_summary_and_exits_with_0()
    {
        var result = CliRunner.Run("validate", TestData.Model);

        result.ExitCode.Should().Be(0);
        result.Stdout.Should().Be("acme-b2b 2026.11.1: 4 scores, 30 rules, 3 personas, 4 stages" + Environment.NewLine);
        result.Stderr.Should().BeEmpty();
    }

    [Fact]
    public void Validating_the_example_model_of_the_spec_prints_its_counts()
    {
        using var dir = new TempDir();
        var model = dir.Write("spec-model.json", TestData.SpecModel);

        var result = CliRunner.Run("validate", model);

        result.ExitCode.Should().Be(0);
        result.Stdout.Should().Be("acme-b2b 2026.11.1: 3 scores, 8 rules, 2 personas, 3 stages" + Environment.NewLine);
        result.Stderr.Should().BeEmpty();
    }

    [Fact]
    public void Validating_a_model_with_three_mistakes_lists_each_with_file_place_path_and_reason_and_exits_with_2()
    {
        // Three mistakes in the spec's example: a half-life of 0, an unknown operator, a limit count of 0.
        var mistakes = new (string Good, string Bad, string Path, string Reason)[]
        {
            ("\"halfLifeDays\": 30", "\"halfLifeDays\": 0", "$.scores[1].halfLifeDays", "'halfLifeDays' must be greater than 0"),
            ("\"op\": \"startsWith\"", "\"op\": \"beginsWith\"", "$.rules[3].when.op", "unknown operator 'beginsWith'"),
            ("\"limit\": { \"count\": 1 }", "\"limit\": { \"count\": 0 }", "$.rules[7].limit.count", "'count' must be at least 1"),
        };
        var text = TestData.SpecModel.ReplaceLineEndings("\n");
        foreach (var m in mistakes)
        {
            text = ReplaceFirst(text, m.Good, m.Bad);
        }

        using var dir = new TempDir();
        var model = dir.Write("bad-model.json", text);

        var result = CliRunner.Run("validate", model);

        result.ExitCode.Should().Be(2);
        result.Stdout.Should().BeEmpty();
        var lines = result.StderrLines;
        lines.Should().HaveCount(4, "one line per error, then a summary");
        for (int i = 0; i < mistakes.Length; i++)
        {
            var m = mistakes[i];
            var match = Regex.Match(lines[i], @"^bad-model\.json\((\d+),(\d+)\): (\S+): (.+)$");
            match.Success.Should().BeTrue($"'{lines[i]}' should read 'file(line,col): path: reason'");
            match.Groups[3].Value.Should().Be(m.Path);
            match.Groups[4].Value.Should().Contain(m.Reason);

            // The place points into the mistake itself.
            var (line, firstColumn) = PlaceOf(text, text.IndexOf(m.Bad, StringComparison.Ordinal));
            int.Parse(match.Groups[1].Value).Should().Be(line, $"'{lines[i]}' should name the line of {m.Bad}");
            int.Parse(match.Groups[2].Value).Should().BeInRange(firstColumn, firstColumn + m.Bad.Length - 1);
        }

        lines[3].Should().Be("bad-model.json: the model was refused with 3 error(s).");
    }

    [Fact]
    public void Validating_a_file_that_does_not_exist_says_so_and_exits_with_3()
    {
        using var dir = new TempDir();
        var missing = dir.File("no-such-model.json");

        var result = CliRunner.Run("validate", missing);

        result.ExitCode.Should().Be(3);
        result.Stdout.Should().BeEmpty();
        result.Stderr.Should().Be($"error: {missing}: no such file" + Environment.NewLine);
    }

    [Fact]
    public void Validating_a_file_that_is_not_json_reports_where_the_json_breaks_and_exits_with_2()
    {
        using var dir = new TempDir();
        var model = dir.Write("broken.json", "{\n  \"name\": \"x\",\n  oops\n}\n");

        var result = CliRunner.Run("validate", model);

        result.ExitCode.Should().Be(2);
        result.Stdout.Should().BeEmpty();
        result.StderrLines[0].Should().MatchRegex(@"^broken\.json\(3,\d+\): \$: .*not valid JSON");
    }

    private static string ReplaceFirst(string text, string oldValue, string newValue)
    {
        int at = text.IndexOf(oldValue, StringComparison.Ordinal);
        at.Should().BeGreaterThanOrEqualTo(0, $"the spec model contains {oldValue}");
        return string.Concat(text.AsSpan(0, at), newValue, text.AsSpan(at + oldValue.Length));
    }

    private static (int Line, int Column) PlaceOf(string text, int index)
    {
        int line = 1 + text.AsSpan(0, index).Count('\n');
        int column = index - (text.LastIndexOf('\n', index - 1) + 1) + 1;
        return (line, column);
    }
}
