using System.Runtime.CompilerServices;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using Microsoft.Extensions.DependencyInjection;

namespace PackageSmoke;

// The quick start of the LeadScoring.Hosting package README, line for line (see ReadmeTests).

public sealed class NotifySales : IStageChangedHandler
{
    public ValueTask OnStageChangedAsync(StageChangedArguments move, CancellationToken cancellationToken)
    {
        // Delivered at least once: the idempotency key is the same for every delivery of one move.
        if (move.To == "mql") Console.WriteLine($"{move.LeadId} is an MQL ({move.IdempotencyKey})");
        return ValueTask.CompletedTask;
    }
}

public sealed class QueueSource(IReadOnlyList<string> queue) : ILeadMessageSource
{
    public string Name => "queue";

    public async IAsyncEnumerable<SourceRecord> ReadAsync(string? checkpoint, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The checkpoint is the position after the last committed record: resume just after it.
        for (int i = checkpoint is null ? 0 : int.Parse(checkpoint); i < queue.Count; i++)
        {
            await Task.Yield();
            yield return new SourceRecord(MessageParser.Parse(queue[i]), checkpoint: $"{i + 1}", location: $"queue: item {i}", raw: queue[i]);
        }
    }
}

public static class Registration
{
    public static LeadScoringBuilder AddScoring(IServiceCollection services, IReadOnlyList<string> queue) =>
        services.AddLeadScoring(options => options.ModelPath = "model.json")
            .AddSource(new QueueSource(queue))
            .AddStageChangedHandler<NotifySales>();
}
