namespace LeadScoring.Orleans;

/// <summary>Options of LeadScoring in an Orleans cluster; every silo must be given the same model and partition count.</summary>
public sealed class LeadScoringClusterOptions
{
    /// <summary>Path of the scoring-model JSON document; read when the silo starts. Set this or <see cref="ModelJson"/>.</summary>
    public string? ModelPath { get; set; }

    /// <summary>The scoring-model JSON document itself. Set this or <see cref="ModelPath"/>.</summary>
    public string? ModelJson { get; set; }

    /// <summary>
    /// The number of partition grains the identity space is cut into (default 16): the unit of placement and of
    /// parallelism. A lead's partition is a function of its ids and of this number, worked out again from the message
    /// log, so changing it needs only a restart of the cluster.
    /// </summary>
    public int Partitions { get; set; } = 16;

    /// <summary>
    /// How often each partition runs the stage clock on an Orleans reminder. Null (the default): the model's
    /// <c>stageCheckHours</c>. Orleans reminders fire at most once a minute; shorter periods are raised to a minute.
    /// </summary>
    public TimeSpan? StageClockPeriod { get; set; }

    /// <summary>
    /// The clock the stage clock reads (its ticks are instants of this clock). Null (the default): the silo's
    /// <see cref="System.TimeProvider"/> service, else the system clock. Set it to drive the stage clock alone (tests),
    /// without changing the clock Orleans itself runs on.
    /// </summary>
    public TimeProvider? TimeProvider { get; set; }

    /// <summary>Whether partitions register the stage clock reminder (default true; needs a reminder service on the silo).</summary>
    public bool UseStageClockReminders { get; set; } = true;
}

/// <summary>Options of the client side (<see cref="ILeadScoringClient"/>).</summary>
public sealed class LeadScoringClientOptions
{
    /// <summary>
    /// How many times a batch is sent before the failure is thrown (default 10). A batch that fails (a silo died while
    /// it was being scored) is rolled back to the message log by the cluster and is safe to send again: copies are not
    /// counted twice.
    /// </summary>
    public int MaxAttempts { get; set; } = 10;

    /// <summary>The pause before a batch is sent again (default one second; doubled after each failure, up to 10 s).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
}
