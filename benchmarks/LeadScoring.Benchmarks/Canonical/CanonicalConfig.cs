using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// The job of canonical-workload.md §9: <see cref="RunStrategy.Monitoring"/> (no pilot, no overhead subtraction),
/// 1 launch, 1 warm-up and 5 measured iterations of 1 invocation each. Marked as the default job, so a job given on
/// the command line (<c>--job short</c> while developing) replaces it. Median, min and max are shown beside the mean;
/// ratios are to the hand-written baseline.
/// </summary>
public class CanonicalConfig : ManualConfig
{
    public CanonicalConfig()
        : this(Job.Default
            .WithStrategy(RunStrategy.Monitoring)
            .WithLaunchCount(1)
            .WithWarmupCount(1)
            .WithIterationCount(5)
            .WithInvocationCount(1)
            .WithUnrollFactor(1)
            .WithId("Canonical"))
    {
    }

    /// <summary>The same columns and ratio style with another default job (see <see cref="MicrosecondConfig"/>).</summary>
    protected CanonicalConfig(Job job)
    {
        AddJob(job.AsDefault());
        AddColumn(StatisticColumn.Median, StatisticColumn.Min, StatisticColumn.Max);
        SummaryStyle = SummaryStyle.Default.WithRatioStyle(RatioStyle.Value);
    }
}
