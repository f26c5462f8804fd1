using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using LeadScoring.Engine;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// <see cref="CanonicalConfig"/> with a job for operations of microseconds (model compile): BenchmarkDotNet's
/// throughput strategy, which pilots the invocation count so that each iteration lasts about 500 ms, with 1 launch,
/// 5 warm-up and 20 measured iterations. The §9 job's single invocation per iteration would time one compile
/// against the timer's resolution and first-call noise. Like the §9 job it is the default job, so a
/// <c>--job</c> given on the command line replaces it.
/// </summary>
public sealed class MicrosecondConfig() : CanonicalConfig(Job.Default
    .WithStrategy(RunStrategy.Throughput)
    .WithLaunchCount(1)
    .WithWarmupCount(5)
    .WithIterationCount(20)
    .WithId("Microseconds"));

/// <summary>
/// <see cref="CanonicalConfig"/> with the §9 job cut to 3 measured iterations (Monitoring, 1 launch, 1 warm-up,
/// 1 invocation per iteration), for the SQLite pipeline, where one invocation lasts 10-20 s.
/// </summary>
public sealed class PipelineConfig() : CanonicalConfig(Job.Default
    .WithStrategy(RunStrategy.Monitoring)
    .WithLaunchCount(1)
    .WithWarmupCount(1)
    .WithIterationCount(3)
    .WithInvocationCount(1)
    .WithUnrollFactor(1)
    .WithId("Pipeline"));

/// <summary>Adds the <c>Msgs/s (median)</c> column: 1e9 / the median ns per operation (one operation is one message).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class MessagesPerSecondColumnAttribute() : ColumnConfigBaseAttribute(new MessagesPerSecondColumn());

/// <summary>Messages per second from the median time per operation, where the benchmark's operation is one message.</summary>
public sealed class MessagesPerSecondColumn : IColumn
{
    public string Id => nameof(MessagesPerSecondColumn);

    public string ColumnName => "Msgs/s (median)";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Messages per second: 1,000,000,000 / the median ns per message";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var stats = summary[benchmarkCase]?.ResultStatistics;
        return stats is null || stats.Median <= 0 ? "NA" : (1e9 / stats.Median).ToString("N0", CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}

/// <summary>Pieces shared by the benchmarks that read the workload as Segment JSON or through a <see cref="LeadScoringEngine"/>.</summary>
public static class CanonicalJson
{
    /// <summary>messages.jsonl for the first <paramref name="events"/> events (§3) as UTF-8 bytes, built in memory.</summary>
    public static byte[] Build(CanonicalWorkload w, int events)
    {
        var bytes = new MemoryStream(events == CanonicalWorkload.EventCount ? 161_050_166 : 25_000_000 + (events * 150));
        var buffer = new byte[4096];
        for (int i = 0; i < CanonicalWorkload.LeadCount; i++)
        {
            bytes.Write(buffer, 0, Encoding.UTF8.GetBytes(w.IdentifyLine(i), buffer));
        }

        for (int j = 0; j < events; j++)
        {
            bytes.Write(buffer, 0, Encoding.UTF8.GetBytes(w.EventLine(j), buffer));
        }

        return bytes.ToArray();
    }

    /// <summary>The lines of UTF-8 JSON Lines content, split at <c>\n</c> (<c>foreach (var line in Lines(bytes))</c>, no allocation).</summary>
    public static LineEnumerator Lines(ReadOnlySpan<byte> content) => new(content);

    /// <summary>The lines of a span, split at <c>\n</c>; a final line without a line break counts too.</summary>
    public ref struct LineEnumerator(ReadOnlySpan<byte> content)
    {
        private ReadOnlySpan<byte> _rest = content;

        public ReadOnlySpan<byte> Current { get; private set; }

        public readonly LineEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_rest.IsEmpty)
            {
                return false;
            }

            int nl = _rest.IndexOf((byte)'\n');
            Current = nl < 0 ? _rest : _rest[..nl];
            _rest = nl < 0 ? default : _rest[(nl + 1)..];
            return true;
        }
    }

    /// <summary>The lead index of a §3 user id, <c>L00000</c> … <c>L99999</c>, as the hand-written code keys its leads.</summary>
    public static int LeadIndex(ReadOnlySpan<char> userId)
    {
        int n = 0;
        for (int k = 1; k < userId.Length; k++)
        {
            n = (n * 10) + (userId[k] - '0');
        }

        return n;
    }

    /// <summary>The same over UTF-8 bytes (the id as it stands in a JSON line).</summary>
    public static int LeadIndex(ReadOnlySpan<byte> userId)
    {
        int n = 0;
        for (int k = 1; k < userId.Length; k++)
        {
            n = (n * 10) + (userId[k] - '0');
        }

        return n;
    }

    /// <summary>Every lead's <c>total</c> from a scorer, as 32-bit integers in <c>lead_id</c> order.</summary>
    public static int[] Totals(CanonicalWorkload w, LeadScoringEngine scorer)
    {
        int total = scorer.Model.ScoreNames.IndexOf("total");
        var totals = new int[CanonicalWorkload.LeadCount];
        for (int i = 0; i < totals.Length; i++)
        {
            if (!scorer.TryGetScore(w.UserIds[i], total, CanonicalWorkload.AsOf, out double value))
            {
                throw new InvalidOperationException($"lead {w.UserIds[i]} unknown to the scorer");
            }

            totals[i] = checked((int)value);
        }

        return totals;
    }

    /// <summary>A scorer to which the first <paramref name="events"/> events have been applied (messages built one at a time, not kept).</summary>
    public static LeadScoringEngine Scored(CanonicalWorkload w, CompiledModel model, int events)
    {
        var scorer = new LeadScoringEngine(model);
        for (int i = 0; i < CanonicalWorkload.LeadCount; i++)
        {
            scorer.Apply(w.IdentifyMessage(i));
        }

        for (int j = 0; j < events; j++)
        {
            scorer.Apply(w.EventMessage(j));
        }

        return scorer;
    }
}
