using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// What a run allocates, by type: the runtime's allocation-tick events (one about every 100 KB allocated, naming the
/// type of the object that crossed the mark), counted in process by an <see cref="EventListener"/>. A sample, not an
/// exact count: a type's share of the ticks estimates its share of the bytes. Used by <c>pipeline --allocations</c>.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private const int AllocationTick = 10;
    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);
    private volatile bool _on;

    /// <summary>Starts counting.</summary>
    public void Start() => _on = true;

    /// <summary>Stops counting.</summary>
    public void Stop() => _on = false;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);   // GC keyword: AllocationTick is verbose
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!_on || e.EventId != AllocationTick || e.Payload is null || e.PayloadNames is null)
        {
            return;
        }

        int type = e.PayloadNames.IndexOf("TypeName");
        int amount = e.PayloadNames.IndexOf("AllocationAmount64");
        if (type < 0 || amount < 0)
        {
            return;
        }

        string name = e.Payload[type] as string ?? "?";
        long bytes = Convert.ToInt64(e.Payload[amount], CultureInfo.InvariantCulture);
        _bytes.AddOrUpdate(name, bytes, (_, b) => b + bytes);
    }

    /// <summary>Writes the <paramref name="top"/> types by sampled bytes, with their share, per message.</summary>
    public void Report(TextWriter writer, int messages, int top = 30)
    {
        long total = _bytes.Values.Sum();
        writer.WriteLine($"allocation sample: {total / (1024.0 * 1024):N0} MiB in ticks, {total / (double)messages:N0} B per message");
        writer.WriteLine("| type | share | B per message |");
        writer.WriteLine("|---|---:|---:|");
        foreach (var (name, bytes) in _bytes.OrderByDescending(p => p.Value).Take(top))
        {
            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| `{name}` | {100.0 * bytes / total:F1}% | {bytes / (double)messages:N0} |"));
        }
    }
}
