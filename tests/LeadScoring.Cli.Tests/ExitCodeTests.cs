using System.Text.Json.Nodes;

namespace LeadScoring.Cli.Tests;

/// <summary>Issue 14, row 15 (and row 2 at the command line): the exit codes 0/1/2/3, documented in --help.</summary>
public sealed class ExitCodeTests
{
    [Fact]
    public void Help_lists_every_exit_code_with_its_meaning()
    {
        var result = CliRunner.Run("--help");

        result.ExitCode.Should().Be(0);
        result.Stdout.ReplaceLineEndings(" ").Should().ContainAll(
            "0 all good", "1 messages were rejected", "2 usage error or a refused model", "3 I/O error");
    }

    [Fact]
    public void A_file_whose_every_line_is_rejected_exits_with_1_even_without_strict()
    {
        using var dir = new TempDir();
        var events = dir.Write("bad.jsonl", "not json\n{\"type\":\"track\"}\n");

        var result = CliRunner.Run("score", "-m", TestData.Model, "-e", events, "--as-of", TestData.AsOf);

        result.ExitCode.Should().Be(1);
        result.Stderr.Should().Contain("read 2").And.Contain("rejected 2");
    }

    [Fact]
    public void Some_rejected_lines_exit_with_0_without_strict()
    {
        using var dir = new TempDir();
        string good = File.ReadLines(TestData.Messages).First();
        var events = dir.Write("some.jsonl", good + "\nnot json\n");

        var result = CliRunner.Run("score", "-m", TestData.Model, "-e", events, "--as-of", TestData.AsOf);

        result.ExitCode.Should().Be(0);
        result.Stderr.Should().Contain("some.jsonl: line 2: rejected: not valid JSON");
    }

    [Fact]
    public void An_empty_file_exits_with_0()
    {
        using var dir = new TempDir();
        var events = dir.Write("empty.jsonl", "");

        CliRunner.Run("score", "-m", TestData.Model, "-e", events, "--as-of", TestData.AsOf).ExitCode.Should().Be(0);
    }

    [Theory]
    [InlineData("limit", 2147483647)]
    [InlineData("after", 2147483647)]
    public void A_model_with_a_count_of_2_pow_31_minus_1_is_refused_by_validate_and_score_with_exit_2_and_no_stack_trace(string owner, long count)
    {
        using var dir = new TempDir();
        var model = JsonNode.Parse(File.ReadAllText(TestData.Model))!;
        var rule = model["rules"]!.AsArray().First(r => r![owner] is not null)!;
        rule[owner]!["count"] = count;
        var path = dir.Write("big.json", model.ToJsonString());

        var validate = CliRunner.Run("validate", path);
        var score = CliRunner.Run("score", "-m", path, "-e", TestData.Messages, "--as-of", TestData.AsOf);

        validate.ExitCode.Should().Be(2);
        validate.Stderr.Should().Contain($".{owner}.count").And.Contain($"must be at most 10000, not {count}").And.NotContain("   at ");
        score.ExitCode.Should().Be(2);
        score.StdoutBytes.Should().BeEmpty();
        score.Stderr.Should().NotContain("   at ").And.NotContain("Exception");
    }

    [Fact]
    public void A_missing_model_exits_with_3_and_an_output_that_cannot_be_written_exits_with_3()
    {
        using var dir = new TempDir();

        var missing = CliRunner.Run("score", "-m", Path.Combine(dir.Path, "nope.json"), "-e", TestData.Messages, "--as-of", TestData.AsOf);
        var unwritable = CliRunner.Run("score", "-m", TestData.Model, "-e", TestData.Batch, "--as-of", TestData.AsOf, "-o", Path.Combine(dir.Path, "no-such-dir", "out.jsonl"));

        missing.ExitCode.Should().Be(3);
        missing.Stderr.Should().Contain("nope.json: no such file");
        unwritable.ExitCode.Should().Be(3);
        unwritable.Stderr.Should().StartWith("error: ");
    }

    [Fact]
    public void A_bad_option_value_exits_with_2()
    {
        CliRunner.Run("score", "-m", TestData.Model, "-e", TestData.Messages, "--as-of", "yesterday").ExitCode.Should().Be(2);
    }
}
