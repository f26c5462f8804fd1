using LeadScoring.Hosting;

namespace LeadScoring.Tests.Shared.Hosting;

/// <summary>
/// Issue 13: a store's indexed current outcomes (<see cref="ILeadOutcomeStore"/>) against an expectation worked out
/// here, independently of any store: the test keeps each lead's history entries itself (renamed, cut from an instant,
/// deleted whole, appended, re-scored under a new model), takes each lead's latest entry (the last of its greatest
/// instant), and sorts with LINQ (highest first, NaN last, ties by lead id ordinal). Seeded random batches; every batch
/// renames a lead, cuts one (whole, one time in three) and appends entries, some at the same instant as the lead's
/// latest or before it; one batch in the middle is a re-scoring with other score names. As the pipeline does, only
/// every third batch (a state checkpoint), the re-scoring and the last one carry outcomes
/// (<see cref="LeadStoreBatch.Outcomes"/>: the latest entry of each lead touched since the previous one;
/// <see cref="LeadStoreBatch.RemovedOutcomes"/>: those left with none): the store's orders are expected to be those of
/// the last of those, whatever history the batches in between wrote.
/// </summary>
public sealed class OutcomeScenario
{
    private static readonly DateTimeOffset T0 = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly string[] Stages = ["lead", "mql", "sql"];
    private static readonly string[] V1 = ["fit", "engagement", "total"];
    private static readonly string[] V2 = ["fit", "total", "intent"];
    private static readonly double[] Values = [0, -0.0, 5, 5, 10, 15, 20, double.NaN, 7.5, double.PositiveInfinity, double.NegativeInfinity];

    private readonly List<Dictionary<string, List<(string LeadId, double Value)>>> _expected = [];

    public OutcomeScenario(int seed, int commits = 20)
    {
        var random = new Random(seed);
        var history = new Dictionary<string, List<ScoreHistoryEntry>>(StringComparer.Ordinal);
        int clock = 0;
        int fresh = 0;
        int late = 0;   // instants differ between leads (a merge's order of equal instants is the store's)
        string[] names = V1;
        string version = "v1";
        var batches = new List<LeadStoreBatch>();
        var touched = new HashSet<string>(StringComparer.Ordinal);
        var expected = Expect(history);
        for (int b = 0; b < commits; b++)
        {
            var known = history.Where(h => h.Value.Count > 0).Select(h => h.Key).Order(StringComparer.Ordinal).ToList();
            LeadStoreBatch batch;
            if (b == commits / 2)
            {
                // A re-scoring: every lead gets an entry of the new model at its latest instant (so it wins the tie).
                names = V2;
                version = "v2";
                var rescored = known.Select(l => Entry(random, l, Latest(history[l])!.At, names, version)).ToList();
                batch = new LeadStoreBatch { History = rescored, ReplaceAllLeads = true, ModelVersion = version };
                Apply(history, batch);
                batch = new LeadStoreBatch
                {
                    History = rescored, ReplaceAllLeads = true, ModelVersion = version,
                    Outcomes = [.. history.Values.Select(Latest).OfType<ScoreHistoryEntry>()],
                };
                touched.Clear();
            }
            else
            {
                var renamed = new Dictionary<string, string>();
                var cut = new Dictionary<string, DateTimeOffset>();
                if (known.Count > 2)
                {
                    // Renamed to a new id, or onto a lead that has entries (two leads merged).
                    string from = known[random.Next(known.Count)];
                    string to = random.Next(3) == 0 ? known[random.Next(known.Count)] : $"n{fresh++:D2}";
                    if (to != from)
                    {
                        renamed[from] = to;
                    }

                    // Cut from one of its instants (the lead keeps what is before it), or whole.
                    string lead = known[random.Next(known.Count)];
                    var entries = history[lead];
                    cut[lead] = random.Next(3) == 0 ? DateTimeOffset.MinValue : entries[random.Next(entries.Count)].At;
                }

                var appended = new List<ScoreHistoryEntry>();
                int leads = 2 + random.Next(5);
                for (int i = 0; i < leads; i++)
                {
                    string lead = random.Next(4) == 0 || known.Count == 0 ? $"l{random.Next(40):D2}" : known[random.Next(known.Count)];
                    if (cut.ContainsKey(lead) && random.Next(2) == 0)
                    {
                        continue;   // a cut history with no new entry
                    }

                    for (int n = 1 + random.Next(3); n > 0; n--)
                    {
                        var at = random.Next(6) switch
                        {
                            0 when history.TryGetValue(lead, out var h) && Latest(h) is { } same => same.At,   // a tie: the later entry wins
                            1 => T0.AddMinutes(Math.Max(0, clock - 30 - random.Next(30))).AddTicks(++late),   // before the lead's latest, maybe
                            _ => T0.AddMinutes(++clock),
                        };
                        appended.Add(Entry(random, lead, at, names, version));
                    }
                }

                batch = new LeadStoreBatch { HistoryRenamed = renamed, HistoryReplacedFrom = cut, History = appended };
                Apply(history, batch);
                touched.UnionWith(renamed.Keys.Concat(renamed.Values).Concat(cut.Keys).Concat(appended.Select(e => e.LeadId)));
                if (b % 3 == 2 || b == commits - 1)
                {
                    var latest = touched.Select(l => history.TryGetValue(l, out var h) ? Latest(h) : null).OfType<ScoreHistoryEntry>().ToList();
                    batch = new LeadStoreBatch
                    {
                        HistoryRenamed = renamed, HistoryReplacedFrom = cut, History = appended, StateCheckpoint = true,
                        Outcomes = latest, RemovedOutcomes = [.. touched.Except(latest.Select(e => e.LeadId))],
                    };
                    touched.Clear();
                }
            }

            batches.Add(batch);
            if (batch.StateCheckpoint || batch.ReplaceAllLeads)
            {
                expected = Expect(history);
            }

            _expected.Add(expected);
        }

        Batches = batches;
    }

    /// <summary>The batches, to commit in order.</summary>
    public IReadOnlyList<LeadStoreBatch> Batches { get; }

    /// <summary>Checks every order of <paramref name="store"/> against the expectation after <paramref name="committed"/> batches.</summary>
    public async Task ShouldMatchAsync(ILeadOutcomeStore store, int committed)
    {
        foreach (var (query, expected) in _expected[committed - 1])
        {
            var parts = query.Split(' ');
            int count = int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
            var actual = parts[0] == "top"
                ? await store.TopAsync(parts[1], count, CancellationToken.None)
                : await store.InStageAsync(parts[1], count, CancellationToken.None);
            actual.Select(a => a.LeadId).Should().Equal(expected.Select(e => e.LeadId), "{0} after batch {1}", query, committed);
            actual.Select(a => a.Value).Should().Equal(expected.Select(e => e.Value), "{0} after batch {1}", query, committed);
        }
    }

    private static ScoreHistoryEntry Entry(Random random, string lead, DateTimeOffset at, string[] names, string version) =>
        new(lead, at, [.. names.Select(n => new KeyValuePair<string, double>(n, Values[random.Next(Values.Length)]))],
            random.Next(2) == 0 ? "A" : null, random.Next(8) == 0 ? null : Stages[random.Next(Stages.Length)], version, "m" + random.Next(1000));

    /// <summary>Renames (in order), then cuts, then appends: as <see cref="LeadStoreBatch"/> says a store applies them.</summary>
    private static void Apply(Dictionary<string, List<ScoreHistoryEntry>> history, LeadStoreBatch batch)
    {
        foreach (var (from, to) in batch.HistoryRenamed)
        {
            if (history.Remove(from, out var moved))
            {
                List(history, to).AddRange(moved.Select(e => new ScoreHistoryEntry(to, e.At, e.Scores, e.Grade, e.Stage, e.ModelVersion, e.MessageId)));
            }
        }

        foreach (var (lead, from) in batch.HistoryReplacedFrom)
        {
            if (history.TryGetValue(lead, out var entries))
            {
                entries.RemoveAll(e => e.At >= from);
            }
        }

        foreach (var entry in batch.History)
        {
            List(history, entry.LeadId).Add(entry);
        }
    }

    private static List<ScoreHistoryEntry> List(Dictionary<string, List<ScoreHistoryEntry>> history, string lead)
    {
        if (!history.TryGetValue(lead, out var entries))
        {
            history[lead] = entries = [];
        }

        return entries;
    }

    /// <summary>The last entry of the greatest instant.</summary>
    private static ScoreHistoryEntry? Latest(List<ScoreHistoryEntry> entries) =>
        entries.Count == 0 ? null : entries.Select((e, i) => (e, i)).OrderBy(x => x.e.At).ThenBy(x => x.i).Last().e;

    private static Dictionary<string, List<(string LeadId, double Value)>> Expect(Dictionary<string, List<ScoreHistoryEntry>> history)
    {
        var latest = history.Values.Select(Latest).OfType<ScoreHistoryEntry>().ToList();
        var expected = new Dictionary<string, List<(string LeadId, double Value)>>();
        foreach (int count in new[] { 0, 3, int.MaxValue })
        {
            foreach (string name in V1.Union(V2).Append("none"))
            {
                expected[$"top {name} {count}"] = latest.Where(e => e.Scores.Any(s => s.Key == name))
                    .Select(e => (e.LeadId, Value: e.Scores.First(s => s.Key == name).Value))
                    .OrderByDescending(e => e.Value).ThenBy(e => e.LeadId, StringComparer.Ordinal)
                    .Take(count).ToList();
            }

            foreach (string stage in new[] { "lead", "MQL", "Sql", "none" })
            {
                expected[$"stage {stage} {count}"] = latest.Where(e => string.Equals(e.Stage, stage, StringComparison.OrdinalIgnoreCase))
                    .Select(e => (e.LeadId, Value: e.Scores.Count > 0 ? e.Scores[0].Value : 0))
                    .OrderByDescending(e => e.Value).ThenBy(e => e.LeadId, StringComparer.Ordinal)
                    .Take(count).ToList();
            }
        }

        return expected;
    }
}

/// <summary>The lead ids of a store's outcome order.</summary>
public static class OutcomeOrders
{
    public static IReadOnlyList<string> Ids(this IReadOnlyList<(string LeadId, double Value)> order) => [.. order.Select(o => o.LeadId)];
}
