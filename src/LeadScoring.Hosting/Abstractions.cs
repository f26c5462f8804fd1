using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Hosting;

/// <summary>
/// Where messages come from: an ordered, resumable stream. The pipeline stores the <see cref="SourceRecord.Checkpoint"/>
/// of the last record it committed, in the same transaction as the lead states, and passes it back after a restart.
/// </summary>
public interface ILeadMessageSource
{
    /// <summary>The source's stable name: the key of its checkpoint in the store.</summary>
    string Name { get; }

    /// <summary>Reads the records after <paramref name="checkpoint"/> (null: from the start), following new ones until cancelled.</summary>
    IAsyncEnumerable<SourceRecord> ReadAsync(string? checkpoint, CancellationToken cancellationToken);
}

/// <summary>One record of a source: a message (or why it could not be used), and the checkpoint just after it.</summary>
public readonly struct SourceRecord
{
    /// <summary>Creates a record.</summary>
    public SourceRecord(MessageParseResult result, string checkpoint, string location, string? raw = null)
    {
        Result = result;
        _checkpoint = checkpoint ?? throw new ArgumentNullException(nameof(checkpoint));
        _location = location ?? throw new ArgumentNullException(nameof(location));
        Raw = raw;
    }

    /// <summary>
    /// A record whose checkpoint and location are written out only when read (<see cref="RecordPosition"/>): a source
    /// hands over thousands of records a second, and the pipeline reads the checkpoint of a batch's last record only,
    /// and the location of a rejected one only.
    /// </summary>
    internal SourceRecord(MessageParseResult result, RecordPosition position, long offset, long line, bool unterminated, string? raw)
    {
        Result = result;
        _position = position;
        _offset = offset;
        _line = line;
        _unterminated = unterminated;
        Raw = raw;
    }

    private readonly string? _checkpoint, _location;
    private readonly RecordPosition? _position;
    private readonly long _offset, _line;
    private readonly bool _unterminated;

    /// <summary>The parsed message, or the reason it was rejected.</summary>
    public MessageParseResult Result { get; }

    /// <summary>The source position just after this record, opaque to the pipeline.</summary>
    public string Checkpoint => _checkpoint ?? _position?.Checkpoint(_offset, _line, _unterminated)!;

    /// <summary>Where the record is, in plain words (e.g. <c>events-01.jsonl: line 12</c>).</summary>
    public string Location => _location ?? _position?.Location(_line)!;

    /// <summary>Whether the record came from a source (it has a checkpoint), not from a default value.</summary>
    internal bool HasCheckpoint => _checkpoint is not null || _position is not null;

    /// <summary>The record's text, kept with a dead letter; may be null.</summary>
    public string? Raw { get; }
}

/// <summary>What a notification is about.</summary>
public enum LeadNotificationKind
{
    /// <summary>A stage move (<see cref="StageChangedArguments"/>).</summary>
    StageChanged,
    /// <summary>A score or grade change (<see cref="ScoreChangedArguments"/>).</summary>
    ScoreChanged,
}

/// <summary>
/// A handler notification in the outbox: committed with the batch that caused it, delivered after the commit,
/// acknowledged after delivery. After a crash, pending ones are delivered again (at least once).
/// </summary>
/// <param name="Key">The idempotency key (unique).</param>
/// <param name="Kind">Stage or score change.</param>
/// <param name="LeadId">The lead.</param>
/// <param name="Payload">The arguments as JSON.</param>
public sealed record LeadNotification(string Key, LeadNotificationKind Kind, string LeadId, string Payload)
{
    /// <summary>The idempotency key (unique).</summary>
    public string Key { get; } = Key;

    /// <summary>Stage or score change.</summary>
    public LeadNotificationKind Kind { get; } = Kind;

    /// <summary>The lead.</summary>
    public string LeadId { get; } = LeadId;

    /// <summary>The arguments as JSON.</summary>
    public string Payload { get; } = Payload;
}

/// <summary>
/// One change of a lead's outcome (its scores, grade and stage): the lead after the messages of one instant, when that
/// differs from the lead after its previous instant; after a re-scoring under a new model; or a stage move at a tick of
/// the stage clock. The pipeline keeps one entry per lead and per change, dated by message time (or the tick), so the
/// same messages give the same history however they were batched (see docs/hosting.md).
/// </summary>
/// <param name="LeadId">The lead.</param>
/// <param name="At">The instant scored: the timestamp of the messages after which the outcome changed (for a re-scoring, the lead's latest message; for the stage clock, the tick).</param>
/// <param name="Scores">Score values by name, in model order.</param>
/// <param name="Grade">The grade, or null.</param>
/// <param name="Stage">The stage, or null.</param>
/// <param name="ModelVersion">The model version.</param>
/// <param name="MessageId">The last message of that instant (spec 2.3 order); null for a re-scoring or a tick of the stage clock.</param>
public sealed record ScoreHistoryEntry(
    string LeadId, DateTimeOffset At, IReadOnlyList<KeyValuePair<string, double>> Scores, string? Grade, string? Stage, string ModelVersion, string? MessageId)
{
    /// <summary>The lead.</summary>
    public string LeadId { get; } = LeadId;

    /// <summary>The instant scored (see the type's remarks).</summary>
    public DateTimeOffset At { get; } = At;

    /// <summary>Score values by name, in model order.</summary>
    public IReadOnlyList<KeyValuePair<string, double>> Scores { get; } = Scores;

    /// <summary>The grade, or null.</summary>
    public string? Grade { get; } = Grade;

    /// <summary>The stage, or null.</summary>
    public string? Stage { get; } = Stage;

    /// <summary>The model version.</summary>
    public string ModelVersion { get; } = ModelVersion;

    /// <summary>The last message of that instant (spec 2.3 order); null for a re-scoring or a tick of the stage clock.</summary>
    public string? MessageId { get; } = MessageId;
}

/// <summary>A record that could not be used, kept with the reason.</summary>
/// <param name="Source">The source's name.</param>
/// <param name="Location">Where it was (file and line, or batch index).</param>
/// <param name="Reason">Why it was rejected.</param>
/// <param name="Raw">Its text, when known.</param>
/// <param name="At">When the pipeline met it.</param>
public sealed record DeadLetter(string Source, string Location, string Reason, string? Raw, DateTimeOffset At)
{
    /// <summary>The source's name.</summary>
    public string Source { get; } = Source;

    /// <summary>Where it was (file and line, or batch index).</summary>
    public string Location { get; } = Location;

    /// <summary>Why it was rejected.</summary>
    public string Reason { get; } = Reason;

    /// <summary>Its text, when known.</summary>
    public string? Raw { get; } = Raw;

    /// <summary>When the pipeline met it.</summary>
    public DateTimeOffset At { get; } = At;
}

/// <summary>Pushes messages into the pipeline from inside the host (e.g. an HTTP endpoint).</summary>
public interface ILeadMessageWriter
{
    /// <summary>Queues a message; waits while the pipeline is full (back-pressure).</summary>
    ValueTask WriteAsync(LeadMessage message, CancellationToken cancellationToken = default);
}

/// <summary>Reads scores for the host: a lead with its explanation, top leads, leads in a stage, history.</summary>
public interface ILeadScoreReader
{
    /// <summary>The lead known by any of its ids, explained, as of <paramref name="asOf"/> (default: now); null when unknown.</summary>
    ValueTask<LeadResult?> GetLeadAsync(string leadId, DateTimeOffset? asOf = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// The <paramref name="count"/> leads with the highest <paramref name="score"/> as of each lead's latest change (its
    /// latest score history entry: a message or a stage-clock tick, not decayed to now), highest first, ties by lead id;
    /// read from the store's index (<see cref="ILeadOutcomeStore"/>), then each listed lead evaluated now.
    /// </summary>
    ValueTask<IReadOnlyList<LeadResult>> TopAsync(string score, int count, CancellationToken cancellationToken = default);

    /// <summary>
    /// Up to <paramref name="count"/> leads in <paramref name="stage"/> (ignoring case) as of each lead's latest change, by
    /// their first score there, highest first, ties by lead id; read from the store's index (<see cref="ILeadOutcomeStore"/>),
    /// then each listed lead evaluated now.
    /// </summary>
    ValueTask<IReadOnlyList<LeadResult>> InStageAsync(string stage, int count, CancellationToken cancellationToken = default);

    /// <summary>A lead's score history, oldest first.</summary>
    ValueTask<IReadOnlyList<ScoreHistoryEntry>> GetHistoryAsync(string leadId, CancellationToken cancellationToken = default);
}

/// <summary>
/// Told when a lead moves between stages (e.g. "became an MQL", or, at a tick of the stage clock, "left MQL" as its
/// engagement decayed). Invoked at least once per move, after commit.
/// </summary>
public interface IStageChangedHandler
{
    /// <summary>Handles one stage move; de-duplicate with <see cref="StageChangedArguments.IdempotencyKey"/>.</summary>
    ValueTask OnStageChangedAsync(StageChangedArguments arguments, CancellationToken cancellationToken);
}

/// <summary>Told when a lead's scores or grade change. Invoked at least once per change, after commit.</summary>
public interface IScoreChangedHandler
{
    /// <summary>Handles one change; de-duplicate with <see cref="ScoreChangedArguments.IdempotencyKey"/>.</summary>
    ValueTask OnScoreChangedAsync(ScoreChangedArguments arguments, CancellationToken cancellationToken);
}

/// <summary>A stage move. Fields can be added later without breaking handlers.</summary>
public readonly struct StageChangedArguments
{
    /// <summary>Creates the arguments.</summary>
    public StageChangedArguments(string leadId, string from, string to, DateTimeOffset at, string modelVersion, string? messageId)
    {
        LeadId = leadId;
        From = from;
        To = to;
        At = at;
        ModelVersion = modelVersion;
        MessageId = messageId;
    }

    /// <summary>The lead.</summary>
    public string LeadId { get; }

    /// <summary>The stage left.</summary>
    public string From { get; }

    /// <summary>The stage entered.</summary>
    public string To { get; }

    /// <summary>When the move happened: the causing message's timestamp, or the tick of the stage clock at which it moved.</summary>
    public DateTimeOffset At { get; }

    /// <summary>The model version that decided it.</summary>
    public string ModelVersion { get; }

    /// <summary>The message after which the stage was re-evaluated; null when a re-scoring or a tick of the stage clock decided it.</summary>
    public string? MessageId { get; }

    /// <summary>The same for every delivery of this move: <c>lead|from|to|at|model version</c>.</summary>
    public string IdempotencyKey => $"{LeadId}|{From}|{To}|{At.UtcTicks}|{ModelVersion}";
}

/// <summary>A change of a lead's scores or grade. Fields can be added later without breaking handlers.</summary>
public readonly struct ScoreChangedArguments
{
    /// <summary>Creates the arguments.</summary>
    public ScoreChangedArguments(string leadId, ScoreHistoryEntry? previous, ScoreHistoryEntry current, string? messageId)
    {
        LeadId = leadId;
        Previous = previous;
        Current = current ?? throw new ArgumentNullException(nameof(current));
        MessageId = messageId;
    }

    /// <summary>The lead.</summary>
    public string LeadId { get; }

    /// <summary>The outcome before (null for a new lead).</summary>
    public ScoreHistoryEntry? Previous { get; }

    /// <summary>The outcome now.</summary>
    public ScoreHistoryEntry Current { get; }

    /// <summary>The model version.</summary>
    public string ModelVersion => Current.ModelVersion;

    /// <summary>The message that caused the change; null when a re-scoring or a tick of the stage clock did.</summary>
    public string? MessageId { get; }

    /// <summary>The same for every delivery of this change: <c>lead|at|message|model version</c>.</summary>
    public string IdempotencyKey => $"{LeadId}|{Current.At.UtcTicks}|{MessageId}|{ModelVersion}";
}
