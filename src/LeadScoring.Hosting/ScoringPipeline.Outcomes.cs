namespace LeadScoring.Hosting;

/// <summary>
/// The indexed current outcomes (issue 13): the store's outcome tables (<see cref="ILeadOutcomeStore"/>) are written at
/// state checkpoints only, for the leads whose outcome changed since the previous one, and with the stage clock's commits
/// for the leads it moved; not with every batch (rewriting index pages all over the tables on every commit cost two
/// thirds of the throughput). Between checkpoints the pipeline keeps the ids of the leads whose outcome changed (the
/// overlay: <see cref="_outcomeChanges"/>, and the writes still being committed); a read takes the store's order without
/// them and merges in their outcomes from <see cref="_outcomes"/>, so it answers as if the tables were written with every
/// batch. After a restart, the leads the replay of the log changes are the overlay again.
/// </summary>
internal sealed partial class ScoringPipeline
{
    /// <summary>Leads (reported ids) whose outcome in <see cref="_outcomes"/> changed, or went, since the last state checkpoint. Under <see cref="_structure"/>.</summary>
    private readonly HashSet<string> _outcomeChanges = new(StringComparer.Ordinal);

    /// <summary>Outcome writes handed to the store and not committed yet (a checkpoint's, a clock tick's). Under <see cref="_outcomeGate"/>.</summary>
    private readonly List<OutcomeWrite> _outcomeWrites = [];
    private readonly object _outcomeGate = new();

    /// <summary>Outcome writes committed so far (under <see cref="_outcomeGate"/>): a read whose store order may predate one of them reads again.</summary>
    private long _outcomeWritesDone;

    /// <summary><see cref="_outcomeWritesDone"/>, read before the store's order is.</summary>
    private long OutcomeWritesDone()
    {
        lock (_outcomeGate)
        {
            return _outcomeWritesDone;
        }
    }

    /// <summary>What one commit writes to the outcome tables, and the leads it covers (read from the overlay until committed).</summary>
    private sealed record OutcomeWrite(List<ScoreHistoryEntry> Outcomes, List<string> Removed, HashSet<string> Leads);

    /// <summary>
    /// The outcomes of <paramref name="leads"/> (default: every lead changed since the last checkpoint, which then starts
    /// a new overlay) as they are now: written when known under that id, removed otherwise. They stay in the overlay
    /// until <see cref="OutcomesCommitted"/>. The caller holds <see cref="_structure"/>.
    /// </summary>
    private OutcomeWrite TakeOutcomes(IEnumerable<string>? leads = null)
    {
        var ids = new HashSet<string>(leads ?? _outcomeChanges, StringComparer.Ordinal);
        if (leads is null)
        {
            _outcomeChanges.Clear();
        }

        var write = new OutcomeWrite([], [], ids);
        if (ids.Count == 0)
        {
            return write;
        }

        foreach (string id in ids)
        {
            if (CurrentOutcome(id) is { } entry)
            {
                write.Outcomes.Add(entry);
            }
            else
            {
                write.Removed.Add(id);
            }
        }

        lock (_outcomeGate)
        {
            _outcomeWrites.Add(write);
        }

        return write;
    }

    /// <summary>Every lead's outcome, for a commit that replaces them all (a re-scoring): the overlay is then empty. The caller holds <see cref="_structure"/>.</summary>
    private List<ScoreHistoryEntry> AllOutcomes(IEnumerable<string> leads)
    {
        _outcomeChanges.Clear();
        return [.. leads.Select(CurrentOutcome).OfType<ScoreHistoryEntry>()];
    }

    /// <summary>Called once the commit carrying <paramref name="write"/> is done: its leads leave the overlay.</summary>
    private void OutcomesCommitted(OutcomeWrite? write)
    {
        if (write is null)
        {
            return;
        }

        lock (_outcomeGate)
        {
            if (_outcomeWrites.Remove(write))
            {
                _outcomeWritesDone++;
            }
        }
    }

    /// <summary>A lead's outcome now, as the outcome tables would hold it: null when no lead is reported under <paramref name="id"/>.</summary>
    private ScoreHistoryEntry? CurrentOutcome(string id) =>
        !_outcomes.TryGetValue(id, out var outcome) || outcome.Entry.LeadId != id ? null
        : _laterOutcomes.TryGetValue(id, out var later) ? later : outcome.Entry;

    /// <summary>
    /// Leads whose latest history entry is not their outcome in <see cref="_outcomes"/>: after a re-scoring, a lead whose
    /// latest entry was a stage-clock tick's, later than its latest message, keeps that entry (the re-scoring's is
    /// earlier), until its next change. Under <see cref="_structure"/>.
    /// </summary>
    private readonly Dictionary<string, ScoreHistoryEntry> _laterOutcomes = new(StringComparer.Ordinal);

    /// <summary>Notes that <paramref name="id"/>'s latest history entry is <paramref name="later"/> (null: its outcome in <see cref="_outcomes"/>).</summary>
    private void KeepLaterOutcome(string id, ScoreHistoryEntry? later)
    {
        if (later is not null && later.LeadId == id)
        {
            _laterOutcomes[id] = later;
        }
        else if (_laterOutcomes.Count > 0)
        {
            _laterOutcomes.Remove(id);
        }
    }

    /// <summary>
    /// The overlay: every lead whose row in the outcome tables may differ from its outcome now; null when an outcome write
    /// was committed after <paramref name="writesDone"/> (the store's order read before may predate it). The caller holds
    /// <see cref="_structure"/>.
    /// </summary>
    private HashSet<string>? OutcomeOverlay(long writesDone)
    {
        lock (_outcomeGate)
        {
            if (_outcomeWritesDone != writesDone)
            {
                return null;
            }

            if (_outcomeWrites.Count == 0)
            {
                return _outcomeChanges;
            }

            var all = new HashSet<string>(_outcomeChanges, StringComparer.Ordinal);
            foreach (var write in _outcomeWrites)
            {
                all.UnionWith(write.Leads);
            }

            return all;
        }
    }
}
