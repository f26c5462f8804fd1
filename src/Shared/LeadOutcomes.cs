using LeadScoring.Hosting;

namespace LeadScoring.Stores;

/// <summary>
/// What every store does to keep its indexed current outcomes (<see cref="ILeadOutcomeStore"/>) in step with a commit's
/// score history rows: a lead's outcome is its latest history entry, the last of its greatest <see cref="ScoreHistoryEntry.At"/>
/// in the order appended. Linked into each store's assembly (src/Shared), so every store applies the same rule.
/// </summary>
internal static class LeadOutcomes
{
    /// <summary>
    /// The leads whose outcome is worked out again from their stored history once <see cref="LeadStoreBatch.HistoryRenamed"/>
    /// and <see cref="LeadStoreBatch.HistoryReplacedFrom"/> are applied (a renamed lead's old and new id, a lead cut from an
    /// instant or deleted whole), each once, in the batch's order.
    /// </summary>
    public static List<string> Recomputed(LeadStoreBatch batch)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var leads = new List<string>();
        foreach (var (from, to) in batch.HistoryRenamed)
        {
            if (seen.Add(from))
            {
                leads.Add(from);
            }

            if (seen.Add(to))
            {
                leads.Add(to);
            }
        }

        foreach (var leadId in batch.HistoryReplacedFrom.Keys)
        {
            if (seen.Add(leadId))
            {
                leads.Add(leadId);
            }
        }

        return leads;
    }

    /// <summary>Each lead's latest entry among <paramref name="appended"/> (the last of its greatest instant), in the order the leads first appear.</summary>
    public static List<ScoreHistoryEntry> Latest(IReadOnlyList<ScoreHistoryEntry> appended)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var latest = new List<ScoreHistoryEntry>();
        foreach (var entry in appended)
        {
            if (!index.TryGetValue(entry.LeadId, out int at))
            {
                index.Add(entry.LeadId, latest.Count);
                latest.Add(entry);
            }
            else if (entry.At >= latest[at].At)
            {
                latest[at] = entry;
            }
        }

        return latest;
    }

    /// <summary>
    /// The outcomes a commit writes: the recomputed leads' latest remaining entries (their rows were deleted), and each
    /// lead's latest appended entry, which replaces a stored outcome only when it is at or after it (a store writes it
    /// with that condition); a lead in both gets the later of the two.
    /// </summary>
    public static List<ScoreHistoryEntry> Merge(IReadOnlyList<ScoreHistoryEntry> recomputed, IReadOnlyList<ScoreHistoryEntry> appended)
    {
        if (recomputed.Count == 0)
        {
            return [.. appended];
        }

        var remaining = recomputed.ToDictionary(e => e.LeadId, StringComparer.Ordinal);
        var merged = new List<ScoreHistoryEntry>(recomputed.Count + appended.Count);
        foreach (var entry in appended)
        {
            merged.Add(remaining.Remove(entry.LeadId, out var kept) && kept.At > entry.At ? kept : entry);
        }

        merged.AddRange(recomputed.Where(e => remaining.ContainsKey(e.LeadId)));
        return merged;
    }

    /// <summary>The key a stage is matched by, ignoring case as the pipeline does (<see cref="StringComparison.OrdinalIgnoreCase"/>).</summary>
    public static string? StageKey(string? stage) => stage?.ToUpperInvariant();

    /// <summary>A score as stored for ordering: NaN as null, after every number (as <see cref="double.CompareTo(double)"/> orders it, highest first).</summary>
    public static double? Sortable(double value) => double.IsNaN(value) ? null : value;

    /// <summary>The value the stage order uses: the entry's first score (0 when it has none, as the pipeline reads it).</summary>
    public static double? FirstScore(ScoreHistoryEntry entry) => entry.Scores.Count > 0 ? Sortable(entry.Scores[0].Value) : 0;

    /// <summary>The entry's scores by name, each name once (its first value).</summary>
    public static IEnumerable<KeyValuePair<string, double>> Scores(ScoreHistoryEntry entry)
    {
        if (entry.Scores.Count <= 1)
        {
            return entry.Scores;
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        return entry.Scores.Where(s => names.Add(s.Key));
    }

    /// <summary>The key <see cref="ILeadOutcomeStore.TopAsync"/> looks up: the score name, once the arguments are checked.</summary>
    public static string ScoreQuery(string score, int count)
    {
        ArgumentNullException.ThrowIfNull(score);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return score;
    }

    /// <summary>The key <see cref="ILeadOutcomeStore.InStageAsync"/> looks up: the stage's <see cref="StageKey"/>, once the arguments are checked.</summary>
    public static string StageQuery(string stage, int count)
    {
        ArgumentNullException.ThrowIfNull(stage);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        return StageKey(stage)!;
    }
}
