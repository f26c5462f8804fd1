using System.Diagnostics.Metrics;

namespace LeadScoring.Hosting;

/// <summary>
/// The pipeline's instruments, on the meter <c>LeadScoring</c> (add it to OpenTelemetry with
/// <c>.AddMeter("LeadScoring")</c>): messages applied, rejected, late and duplicate, stage transitions, leads
/// re-scored, and batch latency.
/// </summary>
public sealed class LeadScoringMetrics : IDisposable
{
    /// <summary>The meter's name.</summary>
    public const string MeterName = "LeadScoring";

    private readonly Meter _meter = new(MeterName, "0.1.0");

    /// <summary>Creates the instruments.</summary>
    public LeadScoringMetrics()
    {
        Applied = _meter.CreateCounter<long>("leadscoring.messages.applied", "{message}", "Messages applied to leads.");
        Rejected = _meter.CreateCounter<long>("leadscoring.messages.rejected", "{message}", "Messages rejected (dead letters).");
        Late = _meter.CreateCounter<long>("leadscoring.messages.late", "{message}", "Messages older than messages already applied for their lead.");
        Duplicates = _meter.CreateCounter<long>("leadscoring.messages.duplicates", "{message}", "Copies of messages already counted.");
        StageTransitions = _meter.CreateCounter<long>("leadscoring.stage.transitions", "{transition}", "Lifecycle stage moves.");
        Rescored = _meter.CreateCounter<long>("leadscoring.rescore.leads", "{lead}", "Leads re-scored after a model change.");
        BatchDuration = _meter.CreateHistogram<double>("leadscoring.batch.duration", "ms", "Time to apply and commit one batch.");
    }

    /// <summary>The meter of this instance (one per host).</summary>
    internal Meter Meter => _meter;

    internal Counter<long> Applied { get; }

    internal Counter<long> Rejected { get; }

    internal Counter<long> Late { get; }

    internal Counter<long> Duplicates { get; }

    internal Counter<long> StageTransitions { get; }

    internal Counter<long> Rescored { get; }

    internal Histogram<double> BatchDuration { get; }

    /// <inheritdoc />
    public void Dispose() => _meter.Dispose();
}
