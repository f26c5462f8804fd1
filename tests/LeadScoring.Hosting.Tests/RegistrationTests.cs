using LeadScoring.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace LeadScoring.Hosting.Tests;

public class RegistrationTests
{
    [Fact]
    public void AddLeadScoring_CalledTwice_RegistersEverythingOnce()
    {
        var services = new ServiceCollection();
        services.AddLeadScoring(o => o.ModelPath = HostKit.Sample("model.json")).AddStageChangedHandler<RecordingStageHandler>();
        services.AddLeadScoring(o => o.ModelPath = HostKit.Sample("model.json")).AddStageChangedHandler<RecordingStageHandler>();

        foreach (var type in new[] { typeof(ILeadStore), typeof(ILeadMessageWriter), typeof(ILeadScoreReader), typeof(IHostedService), typeof(IStageChangedHandler), typeof(IValidateOptions<LeadScoringOptions>), typeof(IOptionsChangeTokenSource<LeadScoringOptions>) })
        {
            services.Count(d => d.ServiceType == type).Should().Be(1, $"{type.Name} is registered once");
        }
    }

    [Fact]
    public void SameFolderSourceAddedTwice_IsReadOnce()
    {
        var services = new ServiceCollection();
        services.AddLeadScoring(o => o.ModelPath = HostKit.Sample("model.json")).AddJsonLinesFolder("/tmp/in").AddJsonLinesFolder("/tmp/in").AddJsonLinesFolder("/tmp/other");

        services.Count(d => d.ServiceType == typeof(ILeadMessageSource)).Should().Be(2);
    }

    [Fact]
    public async Task MissingAndInvalidOptions_FailAtStart_WithEveryErrorListed()
    {
        using var host = HostKit.Build(o =>
        {
            o.Workers = 0;
            o.BatchSize = -1;
            o.QueueCapacity = 0;
        });

        var act = () => host.StartAsync();

        var error = (await act.Should().ThrowAsync<OptionsValidationException>()).Which;
        error.Failures.Should().HaveCount(4);
        error.Failures.Should().Contain(f => f.Contains("no model")).And.Contain(f => f.Contains("Workers"))
            .And.Contain(f => f.Contains("BatchSize")).And.Contain(f => f.Contains("QueueCapacity"));
    }

    [Fact]
    public async Task InvalidModel_FailsAtStart_WithTheModelsErrors()
    {
        using var host = HostKit.Build(o => o.ModelJson = """{"name":"m","version":"1","scores":[{"name":"s"}],"rules":[{"id":"r","score":"x","points":1},{"id":"r","score":"s","points":"2"}]}""");

        var error = (await host.Invoking(h => h.StartAsync()).Should().ThrowAsync<OptionsValidationException>()).Which;

        error.Failures.Should().HaveCount(3).And.OnlyContain(f => f.StartsWith("LeadScoring: model: ModelJson"));
    }

    [Fact]
    public async Task Options_BindFromAConfigurationSection()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["LeadScoring:ModelPath"] = HostKit.Sample("model.json"),
            ["LeadScoring:Workers"] = "3",
            ["LeadScoring:BatchSize"] = "17",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddLeadScoring(config.GetSection("LeadScoring"));
        await using var provider = services.BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<LeadScoringOptions>>().Value;

        (options.Workers, options.BatchSize, options.ModelPath).Should().Be((3, 17, HostKit.Sample("model.json")));
    }
}
