namespace LeadScoring.Samples.Tests;

/// <summary>Issue 13: the WebApi's store setting (<c>WebApi:Store</c>, <c>WebApi:Database</c>) is checked at start.</summary>
public sealed class WebApiStoreTests
{
    [Theory]
    [InlineData("sqlite", "WebApi:Store=sqlite needs WebApi:Database")]
    [InlineData("postgres", "WebApi:Store=postgres needs WebApi:Database")]
    [InlineData("mongo", "unknown store 'mongo' (WebApi:Store)")]
    public Task A_store_without_its_database_or_an_unknown_store_stops_the_app_with_exit_code_2(string store, string reason) =>
        RefusesToStartAsync(["--WebApi:Store", store], reason);

    /// <summary>
    /// Issue 15: <c>WebApi:Store=cluster</c> (the WebApi as an Orleans client of a LeadScoring cluster) checks its
    /// settings before it connects to anything: the cluster's database is required and must be a connection string,
    /// and the Orleans ids must not be empty.
    /// </summary>
    [Theory]
    [InlineData("WebApi:Store=cluster needs WebApi:Database: the Npgsql connection string of the cluster's database")]
    [InlineData("WebApi:Database is not an Npgsql connection string", "--WebApi:Database", "Hots=127.0.0.1;Database=leads")]
    [InlineData("WebApi:ClusterId and WebApi:ServiceId must not be empty", "--WebApi:Database", "Host=127.0.0.1;Database=leads", "--WebApi:ClusterId", " ")]
    [InlineData("cannot reach the cluster's database (WebApi:Database): ", "--WebApi:Database", "Host=127.0.0.1;Port=1;Database=leads;Timeout=5")]
    public Task Cluster_mode_with_a_missing_or_bad_setting_stops_the_app_with_exit_code_2_and_the_reason(string reason, params string[] settings) =>
        RefusesToStartAsync(["--WebApi:Store", "cluster", .. settings], reason);

    /// <summary>
    /// A database that answers but has no Orleans tables (no silo has started on it) is refused at start with what to
    /// do, instead of the Orleans client's failure on a missing table.
    /// </summary>
    [PostgreSqlFact]
    public async Task Cluster_mode_on_a_database_without_the_orleans_tables_stops_the_app_with_exit_code_2_and_what_to_do()
    {
        string server = Environment.GetEnvironmentVariable("LEADSCORING_TEST_POSTGRES") is { Length: > 0 } s ? s
            : throw new InvalidOperationException("LEADSCORING_TEST_POSTGRES is not set: start a server with scripts/pg-test-cluster.sh (see CONTRIBUTING.md), or set LEADSCORING_SKIP_POSTGRES=1.");
        string name = "leadscoring_webapi_" + Guid.NewGuid().ToString("N");
        await WorkerPostgreSqlTests.ExecuteAsync(server, $"CREATE DATABASE {name};");
        try
        {
            string database = new Npgsql.NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
            await RefusesToStartAsync(["--WebApi:Store", "cluster", "--WebApi:Database", database],
                $"database '{name}' (WebApi:Database) has no Orleans tables of LeadScoring: start a silo on it first");
        }
        finally
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            await WorkerPostgreSqlTests.ExecuteAsync(server, $"DROP DATABASE IF EXISTS {name} WITH (FORCE);");
        }
    }

    private static async Task RefusesToStartAsync(string[] arguments, string reason)
    {
        int port = WebApiProcess.FreePort();
        await using var server = WebApiProcess.Launch(port, arguments);

        (await server.WaitForExitAsync(TimeSpan.FromSeconds(60))).Should().BeTrue("the app must refuse to start:\n" + server.Output);
        server.ExitCode.Should().Be(2);
        server.Output.Should().Contain("error: " + reason);
    }
}
