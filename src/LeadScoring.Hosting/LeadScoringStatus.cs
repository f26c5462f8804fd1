namespace LeadScoring.Hosting;

/// <summary>
/// Live counters of the pipeline, for health checks and dashboards: what was committed and what is waiting.
/// Registered as a singleton by <c>AddLeadScoring</c>. Thread-safe.
/// </summary>
public sealed class LeadScoringStatus
{
    private long _committed;
    private long _batches;
    private long _rejected;
    private int _queued;
    private int _sourcesRunning;

    /// <summary>Counted messages committed since start.</summary>
    public long CommittedMessages => Interlocked.Read(ref _committed);

    /// <summary>Rejected records committed as dead letters since start.</summary>
    public long RejectedMessages => Interlocked.Read(ref _rejected);

    /// <summary>Batches committed since start.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>
    /// Batches of the message log the engines' replay history read back from the store since start (a replay, a
    /// confirmed copy or a score history needing messages no longer cached); 0 when the engines keep their messages in
    /// memory (<see cref="LeadScoringOptions.KeepMessagesInMemory"/>).
    /// </summary>
    public long HistoryLogReads => HistoryLogReadsProbe?.Invoke() ?? 0;

    internal Func<long>? HistoryLogReadsProbe { get; set; }

    /// <summary>Messages waiting in the queue.</summary>
    public int QueuedMessages => QueueProbe?.Invoke() ?? Volatile.Read(ref _queued);

    internal Func<int>? QueueProbe { get; set; }

    /// <summary>Sources still reading (a source that does not follow stops at its end).</summary>
    public int SourcesRunning => Volatile.Read(ref _sourcesRunning);

    /// <summary>
    /// The last tick of the stage clock processed and committed (its moves stored and handed to the outbox), or null
    /// before the first one and while the model has no clock. A health check can tell a clock that fell behind.
    /// </summary>
    public DateTimeOffset? StageClock
    {
        get
        {
            long ticks = Interlocked.Read(ref _stageClock);
            return ticks == long.MinValue ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    private long _stageClock = long.MinValue;

    internal void ClockAt(DateTimeOffset tick) => Interlocked.Exchange(ref _stageClock, tick.UtcTicks);

    /// <summary>Whether the pipeline has started.</summary>
    public bool Started { get; internal set; }

    /// <summary>Whether every source has finished and everything read was committed.</summary>
    public bool IsDrained => Started && SourcesRunning == 0 && QueuedMessages == 0 && !Busy;

    internal bool Busy { get; set; }

    /// <summary>
    /// Why the pipeline stopped, in one line, when it could not start or could not go on (the host is then stopped);
    /// null while it runs. A host's entry point turns it into a non-zero exit code.
    /// </summary>
    public string? Fault
    {
        get => Volatile.Read(ref _fault);
        internal set => Volatile.Write(ref _fault, value);
    }

    private string? _fault;

    /// <summary>An exception's messages, inner ones included, on one line.</summary>
    internal static string OneLine(Exception ex)
    {
        var parts = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException)
        {
            string m = e.Message.ReplaceLineEndings(" ").Trim();
            if (m.Length > 0 && !parts.Contains(m))
            {
                parts.Add(m);
            }
        }

        return string.Join(": ", parts);
    }

    internal void Committed(long messages, long rejected)
    {
        Interlocked.Add(ref _committed, messages);
        Interlocked.Add(ref _rejected, rejected);
        Interlocked.Increment(ref _batches);
    }

    internal void Queue(int count) => Volatile.Write(ref _queued, count);

    internal void SourceStarted() => Interlocked.Increment(ref _sourcesRunning);

    internal void SourceStopped() => Interlocked.Decrement(ref _sourcesRunning);
}
