namespace LeadScoring.Cli.Tests;

public sealed class GeneralOptionsTests
{
    [Fact]
    public void Help_lists_the_validate_score_and_schema_commands_and_exits_with_0()
    {
        var result = CliRunner.Run("--help");

        result.ExitCode.Should().Be(0);
        result.Stdout.Should().Contain("validate").And.Contain("score").And.Contain("schema");
        result.Stderr.Should().BeEmpty();
    }

    [Fact]
    public void Version_prints_a_version_number_and_exits_with_0()
    {
        var result = CliRunner.Run("--version");

        result.ExitCode.Should().Be(0);
        result.Stdout.Trim().Should().MatchRegex(@"^\d+\.\d+\.\d+");
        result.Stderr.Should().BeEmpty();
    }

    [Fact]
    public void An_unknown_option_exits_with_2_and_prints_the_error_and_the_usage_of_its_command_on_stderr()
    {
        var result = CliRunner.Run("score", "--model", TestData.Model, "--events", TestData.Messages, "--bogus");

        result.ExitCode.Should().Be(2);
        result.Stdout.Should().BeEmpty();
        result.StderrLines[0].Should().Be("error: Unrecognized command or argument '--bogus'.");
        result.Stderr.Should().Contain("Usage:").And.Contain("score [options]").And.Contain("--events").And.Contain("--as-of");
    }

    [Fact]
    public void A_missing_argument_exits_with_2_and_prints_the_error_and_the_usage_of_its_command_on_stderr()
    {
        var result = CliRunner.Run("validate");

        result.ExitCode.Should().Be(2);
        result.Stdout.Should().BeEmpty();
        result.StderrLines[0].Should().Be("error: Required argument missing for command: 'validate'.");
        result.Stderr.Should().Contain("Usage:").And.Contain("validate <MODEL>");
    }

    [Fact]
    public void A_missing_required_option_exits_with_2_and_names_the_option()
    {
        var result = CliRunner.Run("score", "--model", TestData.Model);

        result.ExitCode.Should().Be(2);
        result.Stdout.Should().BeEmpty();
        result.StderrLines[0].Should().Be("error: Option '--events' is required.");
        result.Stderr.Should().Contain("Usage:").And.Contain("score [options]");
    }

    [Fact]
    public void An_unknown_command_exits_with_2_and_prints_the_top_level_usage_on_stderr()
    {
        var result = CliRunner.Run("frobnicate");

        result.ExitCode.Should().Be(2);
        result.Stdout.Should().BeEmpty();
        result.Stderr.Should().Contain("'frobnicate'").And.Contain("Usage:").And.Contain("validate").And.Contain("schema");
    }
}
