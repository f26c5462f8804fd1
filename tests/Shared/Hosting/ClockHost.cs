using System.Collections.Concurrent;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace LeadScoring.Tests.Shared.Hosting;

/// <summary>
/// Hosts for the stage clock's tests (issue 11): the contract's example of section 3.4 as the model, time from a
/// <see cref="FakeTimeProvider"/>, a handler that records (and can fail), waits on what the host reports.
/// </summary>
internal static class ClockHost
{
    /// <summary>When the tests' leads request a demo: 10:00 on 1 October 2026.</summary>
    public static readonly DateTimeOffset Demo = new(2026, 10, 1, 10, 0, 0, TimeSpan.Zero);

    /// <summary>Where the tests' time starts: two hours after the demo.</summary>
    public static readonly DateTimeOffset Start = Demo.AddHours(2);

    /// <summary>Midnight UTC of a day of October 2026 (or later days counted on from it).</summary>
    public static DateTimeOffset October(int day) => new DateTimeOffset(2026, 10, 1, 0, 0, 0, TimeSpan.Zero).AddDays(day - 1);

    /// <summary>The contract's example of section 3.4 (<see cref="ClockModels.Example"/>) at a version, with a clock when given.</summary>
    public static string ModelJson(string version = "1", int? stageCheckHours = null) =>
        ClockModels.Example(stageCheckHours, version: version);

    public static LeadMessage DemoOf(string lead, DateTimeOffset at) => LeadMessage.Track("demo-" + lead + "-" + at.UtcTicks, lead, "Demo Requested", at);

    /// <summary>A host scoring with <see cref="ModelJson"/> (unless configured otherwise), its time from <paramref name="time"/>, telling <paramref name="stages"/>.</summary>
    public static IHost Build(FakeTimeProvider time, StageRecorder stages, Action<LeadScoringOptions>? configure = null, Action<LeadScoringBuilder>? builder = null)
    {
        var host = Host.CreateApplicationBuilder();
        host.Logging.ClearProviders();
        host.Services.AddSingleton<TimeProvider>(time);
        host.Services.AddSingleton<IStageChangedHandler>(stages);
        var b = host.Services.AddLeadScoring(o =>
        {
            o.ModelJson = ModelJson();
            o.Workers = 2;
            configure?.Invoke(o);
        });
        builder?.Invoke(b);
        return host.Build();
    }

    /// <summary>Writes messages and waits until the pipeline has committed <paramref name="total"/> messages since it started.</summary>
    public static async Task WriteAsync(IHost host, long total, params LeadMessage[] messages)
    {
        var writer = host.Services.GetRequiredService<ILeadMessageWriter>();
        foreach (var m in messages)
        {
            await writer.WriteAsync(m);
        }

        var status = host.Services.GetRequiredService<LeadScoringStatus>();
        await Until(() => status.CommittedMessages >= total, $"{total} messages committed");
    }

    /// <summary>Waits until the host's stage clock has processed (committed and told) <paramref name="tick"/>.</summary>
    public static Task WaitForClockAsync(IHost host, DateTimeOffset tick)
    {
        var status = host.Services.GetRequiredService<LeadScoringStatus>();
        return Until(() => status.StageClock >= tick, $"the stage clock at {tick:O} (it is at {status.StageClock:O})");
    }

    /// <summary>Polls <paramref name="condition"/> (the host works on other threads); fails after 30 s.</summary>
    public static async Task Until(Func<bool> condition, string what)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException("waited 30 s for " + what);
            }

            await Task.Delay(10);
        }
    }
}

/// <summary>Records the stage moves it is told; <see cref="Fail"/> makes it throw for the moves it matches (a crash before delivery).</summary>
internal sealed class StageRecorder : IStageChangedHandler
{
    private readonly ConcurrentQueue<StageChangedArguments> _calls = new();

    public Func<StageChangedArguments, bool>? Fail { get; set; }

    public IReadOnlyList<StageChangedArguments> Calls => [.. _calls];

    /// <summary>The moves told, as (lead, from, to, at) in the order told.</summary>
    public IReadOnlyList<(string Lead, string From, string To, DateTimeOffset At)> Moves => [.. _calls.Select(c => (c.LeadId, c.From, c.To, c.At))];

    public ValueTask OnStageChangedAsync(StageChangedArguments arguments, CancellationToken cancellationToken)
    {
        if (Fail?.Invoke(arguments) == true)
        {
            throw new InvalidOperationException("the handler's process died before it acknowledged " + arguments.IdempotencyKey);
        }

        _calls.Enqueue(arguments);
        return ValueTask.CompletedTask;
    }
}
