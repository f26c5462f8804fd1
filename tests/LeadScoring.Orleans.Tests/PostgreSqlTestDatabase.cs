using Npgsql;

namespace LeadScoring.Orleans.Tests;

/// <summary>
/// The PostgreSQL server of the tests: <c>LEADSCORING_TEST_POSTGRES</c> (an Npgsql connection string of a user that
/// may create databases; <c>scripts/pg-test-cluster.sh</c> starts one). Without it the PostgreSQL tests fail and say
/// so, unless <c>LEADSCORING_SKIP_POSTGRES=1</c>: then they are skipped, with the reason.
/// </summary>
internal static class TestPostgres
{
    public const string Variable = "LEADSCORING_TEST_POSTGRES";
    public const string SkipVariable = "LEADSCORING_SKIP_POSTGRES";

    public static string? Server => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } s ? s : null;

    public static string? SkipReason => Server is null && Environment.GetEnvironmentVariable(SkipVariable) == "1"
        ? $"PostgreSQL tests skipped: {SkipVariable}=1 and {Variable} is not set"
        : null;

    /// <summary>A new database on the server, dropped when disposed.</summary>
    public static async Task<TestDatabase> CreateDatabaseAsync()
    {
        string server = Server ?? throw new InvalidOperationException(
            $"{Variable} is not set: the ADO.NET cluster tests need a PostgreSQL server. Start one with `scripts/pg-test-cluster.sh start && " +
            $"source artifacts/pg-test-cluster.env` (see CONTRIBUTING.md), or set {SkipVariable}=1 to skip them.");
        string name = "leadscoring_orleans_" + Guid.NewGuid().ToString("N")[..16];
        await TestDatabase.ExecuteAsync(server, $"CREATE DATABASE {name};");
        return new TestDatabase(server, name);
    }
}

/// <summary>A fact that needs the PostgreSQL server: skipped as <see cref="TestPostgres.SkipReason"/> says.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class PostgreSqlFactAttribute : FactAttribute
{
    public PostgreSqlFactAttribute()
    {
        if (TestPostgres.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}

internal sealed class TestDatabase(string server, string name) : IAsyncDisposable
{
    public string ConnectionString { get; } = new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;

    public Task<object?> ScalarAsync(string sql) => ExecuteAsync(ConnectionString, sql);

    public async Task<List<object?[]>> RowsAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (int i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await ExecuteAsync(server, $"DROP DATABASE IF EXISTS {name} WITH (FORCE);");
    }

    public static async Task<object?> ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
