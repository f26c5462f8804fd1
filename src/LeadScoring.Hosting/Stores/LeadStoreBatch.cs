using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Hosting;

/// <summary>
/// What one pipeline commit writes, all or nothing: the rows of each concern of the store. A store applies them in
/// this order, in one transaction: lead states (<see cref="ReplaceAllLeads"/>, then <see cref="RemovedLeads"/>, then
/// <see cref="Leads"/>, and the state position when <see cref="StateCheckpoint"/>, after the messages are appended),
/// the message log (<see cref="Messages"/>, one new position), the score history (<see cref="HistoryRenamed"/>,
/// <see cref="HistoryReplacedFrom"/>, <see cref="History"/>), the current outcomes (<see cref="RemovedOutcomes"/>, then
/// <see cref="Outcomes"/>, after every stored outcome is deleted when <see cref="ReplaceAllLeads"/>), <see cref="DeadLetters"/>, the positions
/// (<see cref="Checkpoints"/>, <see cref="ModelVersion"/>, <see cref="StageClock"/>) and the outbox
/// (<see cref="Notifications"/>).
/// </summary>
public sealed class LeadStoreBatch
{
    /// <summary>Lead states to insert or replace (by <see cref="LeadSnapshot.LeadId"/>); their journals need not be kept.</summary>
    public IReadOnlyList<LeadSnapshot> Leads { get; init; } = [];

    /// <summary>Lead states to delete (merged into another lead, or now reported under another id), before <see cref="Leads"/> are written.</summary>
    public IReadOnlyList<string> RemovedLeads { get; init; } = [];

    /// <summary>When true (re-scoring under a new model), every stored lead state is replaced by <see cref="Leads"/>.</summary>
    public bool ReplaceAllLeads { get; init; }

    /// <summary>
    /// When true, this batch ends a state checkpoint: with the states stored before, <see cref="Leads"/> and
    /// <see cref="RemovedLeads"/> make every lead as of the end of the message log once <see cref="Messages"/> are
    /// appended, and the store records that position (<see cref="ILeadStateStore.GetStatePositionAsync"/>).
    /// </summary>
    public bool StateCheckpoint { get; init; }

    /// <summary>Counted messages to append to the message log, as one batch (one position), in their order.</summary>
    public IReadOnlyList<LeadMessage> Messages { get; init; } = [];

    /// <summary>
    /// Set by the store's <see cref="ILeadStore.CommitAsync"/> when it appends <see cref="Messages"/>: the position it
    /// gave them (the one <see cref="IMessageLog.ReadLogAsync"/> reports and <see cref="IMessageLog.ReadLogBatch"/>
    /// reads). 0 when the batch has no messages or the store does not tell; the pipeline then keeps the batch's
    /// messages in memory instead of reading them back from the log.
    /// </summary>
    public long LogPosition { get; set; }

    /// <summary>
    /// Score history entries to append, after <see cref="HistoryRenamed"/> and <see cref="HistoryReplacedFrom"/> are
    /// applied.
    /// </summary>
    public IReadOnlyList<ScoreHistoryEntry> History { get; init; } = [];

    /// <summary>
    /// Leads now reported under another id (an anonymous lead that identified): every history entry of the key's id
    /// moves to the value's id. Applied first.
    /// </summary>
    public IReadOnlyDictionary<string, string> HistoryRenamed { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Leads whose history is rewritten from an instant on (a late message changed their past, two leads merged):
    /// their entries at or after the instant are deleted, after <see cref="HistoryRenamed"/> and before
    /// <see cref="History"/> is appended. <see cref="DateTimeOffset.MinValue"/> deletes a lead's whole history (a lead
    /// merged into another).
    /// </summary>
    public IReadOnlyDictionary<string, DateTimeOffset> HistoryReplacedFrom { get; init; } = new Dictionary<string, DateTimeOffset>();

    /// <summary>
    /// Current outcomes to write (<see cref="ILeadOutcomeStore"/>), each replacing its lead's (by
    /// <see cref="ScoreHistoryEntry.LeadId"/>, one per lead), whatever its instant. The pipeline gives them at state
    /// checkpoints (every lead whose outcome changed since the previous one) and with stage-clock commits (the leads the
    /// clock moved), not with every batch: between those, it lists the changed leads itself.
    /// </summary>
    public IReadOnlyList<ScoreHistoryEntry> Outcomes { get; init; } = [];

    /// <summary>Lead ids whose current outcome is deleted (merged away, now reported under another id), before <see cref="Outcomes"/> are written.</summary>
    public IReadOnlyList<string> RemovedOutcomes { get; init; } = [];

    /// <summary>Rejected records to keep.</summary>
    public IReadOnlyList<DeadLetter> DeadLetters { get; init; } = [];

    /// <summary>Checkpoints to set, by source name.</summary>
    public IReadOnlyDictionary<string, string> Checkpoints { get; init; } = new Dictionary<string, string>();

    /// <summary>Notifications to add to the outbox.</summary>
    public IReadOnlyList<LeadNotification> Notifications { get; init; } = [];

    /// <summary>The model version the leads of this batch were scored with; stored when set.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>
    /// The last tick of the stage clock (the model's <c>stageCheckHours</c>) processed with this batch: its moves are in
    /// <see cref="History"/> and <see cref="Notifications"/>. Stored when set, read back by <see cref="IPipelinePositions.GetStageClockAsync"/>.
    /// </summary>
    public DateTimeOffset? StageClock { get; init; }
}
