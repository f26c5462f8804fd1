namespace LeadScoring.Samples.Tests;

/// <summary>Issue 13: the WebApi's store setting (<c>WebApi:Store</c>, <c>WebApi:Database</c>) is checked at start.</summary>
public sealed class WebApiStoreTests
{
    [Theory]
    [InlineData("sqlite", "WebApi:Store=sqlite needs WebApi:Database")]
    [InlineData("postgres", "WebApi:Store=postgres needs WebApi:Database")]
    [InlineData("mongo", "unknown store 'mongo' (WebApi:Store)")]
    public async Task A_store_without_its_database_or_an_unknown_store_stops_the_app_with_exit_code_2(string store, string reason)
    {
        int port = WebApiProcess.FreePort();
        await using var server = WebApiProcess.Launch(port, ["--WebApi:Store", store]);

        (await server.WaitForExitAsync(TimeSpan.FromSeconds(60))).Should().BeTrue("the app must refuse to start:\n" + server.Output);
        server.ExitCode.Should().Be(2);
        server.Output.Should().Contain("error: " + reason);
    }
}
