using System.Collections.Concurrent;
using LeadScoring.Orleans.PostgreSql;
using Orleans;
using Orleans.Runtime;

namespace LeadScoring.Orleans.Tests;

/// <summary>A grain whose reminder ticks are recorded (in this process), to see a reminder outlive its cluster.</summary>
public interface ITickGrain : IGrainWithStringKey
{
    Task StartAsync(TimeSpan period);

    Task StopAsync();
}

/// <summary>A grain with a counter in the ADO.NET grain storage of <c>UseLeadScoringPostgreSql</c>.</summary>
public interface ICounterGrain : IGrainWithIntegerKey
{
    /// <summary>Adds one and writes the state; the name of the exception the write threw, or null.</summary>
    Task<string?> IncrementAsync();

    Task<(int Value, string? ETag, bool RecordExists)> GetAsync();

    Task ClearAsync();

    Task DeactivateAsync();
}

[GenerateSerializer]
public sealed class CounterState
{
    [Id(0)] public int Value { get; set; }
}

public sealed class TickGrain : Grain, ITickGrain, IRemindable
{
    /// <summary>The ticks by grain key: the instants they arrived.</summary>
    public static readonly ConcurrentDictionary<string, ConcurrentQueue<DateTime>> Ticks = new();

    public async Task StartAsync(TimeSpan period) => await this.RegisterOrUpdateReminder("tick", TimeSpan.FromSeconds(1), period);

    public async Task StopAsync()
    {
        if (await this.GetReminder("tick") is { } reminder)
        {
            await this.UnregisterReminder(reminder);
        }
    }

    public Task ReceiveReminder(string reminderName, TickStatus status)
    {
        Ticks.GetOrAdd(this.GetPrimaryKeyString(), _ => new()).Enqueue(DateTime.UtcNow);
        return Task.CompletedTask;
    }
}

public sealed class CounterGrain(
    [PersistentState("counter", LeadScoringPostgreSqlClusterOptions.GrainStorageName)] IPersistentState<CounterState> counter) : Grain, ICounterGrain
{
    public async Task<string?> IncrementAsync()
    {
        counter.State.Value++;
        try
        {
            await counter.WriteStateAsync();
            return null;
        }
        catch (Exception ex)
        {
            return ex.GetType().Name;
        }
    }

    public Task<(int Value, string? ETag, bool RecordExists)> GetAsync() => Task.FromResult((counter.State.Value, counter.Etag, counter.RecordExists));

    public Task ClearAsync() => counter.ClearStateAsync();

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
