using LeadScoring.Hosting;

namespace LeadScoring.Stores;

/// <summary>
/// The rules of the indexed current outcomes (<see cref="ILeadOutcomeStore"/>) every store and the pipeline's overlay
/// keep: the stage key, how scores are ordered (NaN last), the order's comparer. Linked into each store's assembly
/// (src/Shared), so all of them apply the same rule.
/// </summary>
internal static class LeadOutcomes
{
    /// <summary>
    /// The order of every outcome list: highest value first (NaN last, -0 equal to 0, as <see cref="double.CompareTo(double)"/>),
    /// then lead id (ordinal); what the stores' indexes give (<c>value DESC NULLS LAST, lead_id</c>).
    /// </summary>
    public sealed class HighestFirst : IComparer<(double Value, string LeadId)>
    {
        public static readonly HighestFirst Instance = new();

        public int Compare((double Value, string LeadId) x, (double Value, string LeadId) y)
        {
            int c = y.Value.CompareTo(x.Value);
            return c != 0 ? c : string.CompareOrdinal(x.LeadId, y.LeadId);
        }
    }

    /// <summary>The value <paramref name="entry"/> is listed by for <paramref name="score"/> (NaN ordered last), or null when it has no such score.</summary>
    public static double? ScoreValue(ScoreHistoryEntry entry, string score)
    {
        foreach (var (name, value) in entry.Scores)
        {
            if (name == score)
            {
                return value;   // the first value of a name, as Scores keeps it
            }
        }

        return null;
    }

    /// <summary>The value <paramref name="entry"/> is listed by in its stage (its first score, 0 when none; NaN last), or null when it is not in <paramref name="stageKey"/>.</summary>
    public static double? StageValue(ScoreHistoryEntry entry, string stageKey) =>
        StageKey(entry.Stage) == stageKey ? FirstScore(entry) ?? double.NaN : null;

    /// <summary>The key a stage is matched by, ignoring case as the pipeline does (<see cref="StringComparison.OrdinalIgnoreCase"/>).</summary>
    public static string? StageKey(string? stage) => stage?.ToUpperInvariant();

    /// <summary>A score as stored for ordering: NaN as null, after every number (as <see cref="double.CompareTo(double)"/> orders it, highest first).</summary>
    public static double? Sortable(double value) => double.IsNaN(value) ? null : value;

    /// <summary>The value the stage order uses: the entry's first score (0 when it has none, as the pipeline reads it).</summary>
    public static double? FirstScore(ScoreHistoryEntry entry) => entry.Scores.Count > 0 ? Sortable(entry.Scores[0].Value) : 0;

    /// <summary>The entry's scores by name, each name once (its first value).</summary>
    public static IEnumerable<KeyValuePair<string, double>> Scores(ScoreHistoryEntry entry)
    {
        if (entry.Scores.Count <= 1 || (entry.Scores.Count <= 16 && DistinctNames(entry.Scores)))
        {
            return entry.Scores;   // the usual case (a model's score names are distinct): no set, no iterator
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        return entry.Scores.Where(s => names.Add(s.Key));
    }

    private static bool DistinctNames(IReadOnlyList<KeyValuePair<string, double>> scores)
    {
        for (int i = 1; i < scores.Count; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (string.Equals(scores[i].Key, scores[j].Key, StringComparison.Ordinal))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>
    /// An outcome's score names joined by U+001F, as the stores keep them (<c>lead_outcome.score_names</c>) to find score
    /// rows of names a new outcome no longer has.
    /// </summary>
    public static string ScoreNames(ScoreHistoryEntry entry) => string.Join('\u001f', Scores(entry).Select(s => s.Key));

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
