using System.Collections.Concurrent;
using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Output;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LeadScoring.Hosting.Tests;

/// <summary>Shared pieces: the sample, a host builder, handlers that record, a logger that captures.</summary>
internal static class HostKit
{
    public static readonly DateTimeOffset AsOf = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);

    public static string Sample(string file) => Path.Combine(AppContext.BaseDirectory, "data", file);

    public static List<LeadMessage> SampleMessages() =>
        MessageReader.Read(File.OpenRead(Sample("messages.jsonl"))).Where(r => r.Result.Message is not null).Select(r => r.Result.Message!).ToList();

    /// <summary>The expected output: the batch fold of the same messages, as section 5 JSON lines.</summary>
    public static List<string> Expected(IEnumerable<LeadMessage> messages, string? modelPath = null)
    {
        var model = CompiledModel.Compile(LeadScoring.Model.ScoringModelLoader.LoadFile(modelPath ?? Sample("model.json")).GetModelOrThrow());
        return LeadScoring.Tests.Shared.SortedScoring.Score(model, messages, AsOf, explain: true).Select(LeadResultJson.ToJson).ToList();
    }

    public static async Task<List<string>> ActualAsync(IServiceProvider services, IEnumerable<string> leadIds)
    {
        var reader = services.GetRequiredService<ILeadScoreReader>();
        var results = new List<string>();
        foreach (var id in leadIds)
        {
            var r = await reader.GetLeadAsync(id, AsOf);
            if (r is not null)
            {
                results.Add(LeadResultJson.ToJson(r));
            }
        }

        return results;
    }

    public static IHost Build(Action<LeadScoringOptions> configure, Action<LeadScoringBuilder>? builder = null, CapturingLoggerProvider? logs = null)
    {
        var host = Host.CreateApplicationBuilder();
        host.Logging.ClearProviders();
        if (logs is not null)
        {
            host.Logging.AddProvider(logs);
        }

        // A test's stop drains everything it wrote however loaded the machine is (the defaults, 30 s each, are a
        // production host's; a test run on a busy machine can need longer): a test that means a short drain sets it.
        host.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(5));
        var b = host.Services.AddLeadScoring(o =>
        {
            o.DrainTimeout = TimeSpan.FromMinutes(5);
            configure(o);
        });
        builder?.Invoke(b);
        return host.Build();
    }

    /// <summary>Waits until the pipeline is drained (nothing queued, nothing applying or committing) three polls in a row.</summary>
    public static async Task WaitForDrainedAsync(IServiceProvider services, TimeSpan? timeout = null)
    {
        var status = services.GetRequiredService<LeadScoringStatus>();
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        for (int drained = 0; drained < 3; drained = status.IsDrained ? drained + 1 : 0)
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"not drained: {status.QueuedMessages} queued, {status.CommittedMessages} committed");
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Waits until the pipeline has committed <paramref name="count"/> counted messages and the queue is idle.</summary>
    public static async Task WaitForCommittedAsync(IServiceProvider services, long count, TimeSpan? timeout = null)
    {
        var pipeline = services.GetRequiredService<ScoringPipeline>();
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (Interlocked.Read(ref pipeline.Committed) < count)
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException($"committed {pipeline.Committed} of {count} messages");
            }

            await Task.Delay(20);
        }
    }
}

internal static class ListAssert
{
    /// <summary>Asserts equal lists, reporting only the first difference (the lists are long).</summary>
    public static void ShouldEqualLines(this List<string> actual, List<string> expected)
    {
        for (int i = 0; i < Math.Min(actual.Count, expected.Count); i++)
        {
            if (actual[i] != expected[i])
            {
                Assert.Fail($"line {i} differs:\nexpected {expected[i]}\nactual   {actual[i]}");
            }
        }

        actual.Count.Should().Be(expected.Count);
    }
}

internal sealed class RecordingStageHandler : IStageChangedHandler
{
    public ConcurrentQueue<StageChangedArguments> Calls { get; } = new();

    public ValueTask OnStageChangedAsync(StageChangedArguments arguments, CancellationToken cancellationToken)
    {
        Calls.Enqueue(arguments);
        return ValueTask.CompletedTask;
    }
}

internal sealed class RecordingScoreHandler : IScoreChangedHandler
{
    public ConcurrentQueue<ScoreChangedArguments> Calls { get; } = new();

    public ValueTask OnScoreChangedAsync(ScoreChangedArguments arguments, CancellationToken cancellationToken)
    {
        Calls.Enqueue(arguments);
        return ValueTask.CompletedTask;
    }
}

internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(LogLevel Level, string Category, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((logLevel, category, formatter(state, exception)));
    }
}
