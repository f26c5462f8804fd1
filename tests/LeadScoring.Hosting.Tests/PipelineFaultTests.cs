using System.Reflection;
using LeadScoring.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LeadScoring.Hosting.Tests;

/// <summary>Issue 14, row 7: a pipeline that cannot go on stops the host (no process left up and idle) and says why.</summary>
public sealed class PipelineFaultTests
{
    /// <summary>Forwards to an in-memory store, but every commit fails as a read-only database does.</summary>
    public class FailingCommits : DispatchProxy
    {
        public ILeadStore Inner { get; set; } = new InMemoryLeadStore();

        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            targetMethod!.Name == nameof(ILeadStore.CommitAsync)
                ? ValueTask.FromException(new IOException("attempt to write a readonly database"))
                : targetMethod.Invoke(Inner, args);
    }

    [Fact]
    public async Task A_commit_that_fails_stops_the_host_and_records_a_one_line_reason()
    {
        var store = DispatchProxy.Create<ILeadStore, FailingCommits>();
        using var host = HostKit.Build(o => o.ModelPath = HostKit.Sample("model.json"), b => b.UseStore(_ => store));
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopping = new TaskCompletionSource();
        lifetime.ApplicationStopping.Register(() => stopping.TrySetResult());
        await host.StartAsync();

        await host.Services.GetRequiredService<ILeadMessageWriter>().WriteAsync(LeadMessage.Track("m-1", "u-1", "Demo Requested", HostKit.AsOf.AddDays(-1)));
        await stopping.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var fault = host.Services.GetRequiredService<LeadScoringStatus>().Fault;
        fault.Should().Be("the scoring pipeline stopped: attempt to write a readonly database");
        await host.StopAsync();
    }
}
