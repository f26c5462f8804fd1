using System.Text.Json;

namespace LeadScoring.Cli.Tests;

public sealed class SchemaCommandTests
{
    [Fact]
    public void Schema_prints_a_json_document_whose_id_is_the_scoring_model_schema()
    {
        var result = CliRunner.Run("schema");

        result.ExitCode.Should().Be(0);
        result.Stderr.Should().BeEmpty();
        using var doc = JsonDocument.Parse(result.StdoutBytes);
        doc.RootElement.GetProperty("$id").GetString().Should().EndWith("scoring-model.schema.json");
    }

    [Fact]
    public void Schema_prints_the_same_schema_as_the_one_in_the_repository()
    {
        var result = CliRunner.Run("schema");

        var file = Path.Combine(AppContext.BaseDirectory, "schema", "scoring-model.schema.json");
        result.Stdout.ReplaceLineEndings("\n").Should().Be(File.ReadAllText(file).ReplaceLineEndings("\n"));
    }
}
