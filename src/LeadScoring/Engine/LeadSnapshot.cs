using System.Collections.Immutable;
using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>
/// A lead as a store persists it: its ids, its state in a compact versioned binary form, and the journal of
/// messages still inside the reorder horizon (with the state before them), so that a restored engine goes on
/// exactly where the saved one stopped. Immutable.
/// </summary>
public sealed class LeadSnapshot
{
    internal LeadSnapshot(string leadId, ImmutableArray<string> ids, ReadOnlyMemory<byte> state, ReadOnlyMemory<byte>? baseState, ImmutableArray<LeadMessage> journal)
    {
        LeadId = leadId;
        Ids = ids;
        State = state;
        BaseState = baseState;
        Journal = journal;
    }

    /// <summary>Creates a snapshot from its persisted parts (what <see cref="LeadScoringEngine.ExportLead"/> produced).</summary>
    public static LeadSnapshot Create(string leadId, IEnumerable<string> ids, ReadOnlyMemory<byte> state, ReadOnlyMemory<byte>? baseState, IEnumerable<LeadMessage> journal)
    {
        ArgumentNullException.ThrowIfNull(leadId);
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(journal);
        // An empty base (e.g. a null byte[] converted to memory) means "no base": the journal starts from an empty lead.
        return new LeadSnapshot(leadId, [.. ids], state, baseState is { IsEmpty: false } ? baseState : null, [.. journal]);
    }

    /// <summary>The id the lead is reported under.</summary>
    public string LeadId { get; }

    /// <summary>Every id linked to the lead (user ids, anonymous ids, alias ids).</summary>
    public ImmutableArray<string> Ids { get; }

    /// <summary>The lead's current state (binary format version 1; about a few hundred bytes).</summary>
    public ReadOnlyMemory<byte> State { get; }

    /// <summary>The state before the first journal message; <see langword="null"/>: the journal starts from an empty lead.</summary>
    public ReadOnlyMemory<byte>? BaseState { get; }

    /// <summary>The messages inside the reorder horizon, in spec 2.3 order.</summary>
    public ImmutableArray<LeadMessage> Journal { get; }
}

/// <summary>What changed in an engine since the last <see cref="LeadScoringEngine.TakeChanges"/>.</summary>
/// <param name="Changed">Ids of the leads whose state changed (as they are reported now).</param>
/// <param name="Removed">Ids that named a lead before and no longer do (merged into another, or renamed).</param>
public sealed record LeadChanges(IReadOnlyList<string> Changed, IReadOnlyList<string> Removed);
