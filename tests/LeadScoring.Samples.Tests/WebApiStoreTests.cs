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
    public Task Cluster_mode_with_a_missing_or_bad_setting_stops_the_app_with_exit_code_2_and_the_reason(string reason, params string[] settings) =>
        RefusesToStartAsync(["--WebApi:Store", "cluster", .. settings], reason);

    private static async Task RefusesToStartAsync(string[] arguments, string reason)
    {
        int port = WebApiProcess.FreePort();
        await using var server = WebApiProcess.Launch(port, arguments);

        (await server.WaitForExitAsync(TimeSpan.FromSeconds(60))).Should().BeTrue("the app must refuse to start:\n" + server.Output);
        server.ExitCode.Should().Be(2);
        server.Output.Should().Contain("error: " + reason);
    }
}
