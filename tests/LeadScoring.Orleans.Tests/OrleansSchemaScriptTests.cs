using LeadScoring.Orleans.PostgreSql;

namespace LeadScoring.Orleans.Tests;

/// <summary>The cutting of <c>orleans-postgresql.sql</c> into migrations and statements, and its errors.</summary>
public sealed class OrleansSchemaScriptTests
{
    [Fact]
    public void Statements_leave_out_whole_line_comments_and_migrations_keep_their_order()
    {
        var script = LeadScoringOrleansSchema.Script.Parse("""
            -- header
            --@migration 1 first
            CREATE TABLE a (x int); -- kept
            --@migration 2 second
            CREATE TABLE b (x int);
            --@query SomeKey
            -- a comment
            SELECT 1;
            """);
        script.Migrations.Select(m => (m.Version, m.Description)).Should().Equal((1, "first"), (2, "second"));
        script.Migrations[0].Sql.Should().Be("CREATE TABLE a (x int); -- kept");
        script.Queries.Should().Equal(new Dictionary<string, string> { ["SomeKey"] = "SELECT 1;" });
    }

    [Theory]
    [InlineData("--@migration 2 gap\nSELECT 1;", "migration 2 where 1 was expected")]
    [InlineData("--@migration 1 m\nSELECT 1;\n--@query K\nSELECT 1;\n--@query K\nSELECT 2;", "query K is empty or given twice")]
    [InlineData("--@migration 1 m\nSELECT 1;\n--@query K\n-- only a comment", "query K is empty or given twice")]
    [InlineData("--@query K\nSELECT 1;", "has no migration")]
    public void A_malformed_script_is_refused_saying_where(string text, string reason)
    {
        var parse = () => LeadScoringOrleansSchema.Script.Parse(text);
        parse.Should().Throw<FormatException>().WithMessage($"*orleans-postgresql.sql*{reason}*");
    }
}
