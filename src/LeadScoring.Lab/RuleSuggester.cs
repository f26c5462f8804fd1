using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using LeadScoring.Messages;
using LeadScoring.Model;

namespace LeadScoring.Lab;

/// <summary>Options of <see cref="RuleSuggester"/>.</summary>
public sealed record SuggestOptions
{
    /// <summary>A value, event or path becomes a candidate when at least this share of leads has it. Default 0.02.</summary>
    public double MinShare { get; init; } = 0.02;

    /// <summary>At most this many values of one categorical trait. Default 10.</summary>
    public int MaxValuesPerTrait { get; init; } = 10;

    /// <summary>Quantile buckets of a numeric trait. Default 5.</summary>
    public int Buckets { get; init; } = 5;
}

/// <summary>What <c>leadscore suggest</c> produced.</summary>
/// <param name="Json">The candidate model document (indented, ending with a line break); every rule has 0 points until <c>fit</c>.</param>
/// <param name="Model">The candidate model, validated.</param>
/// <param name="Leads">Leads seen up to the as-of time.</param>
public sealed record SuggestResult(string Json, ScoringModel Model, int Leads);

/// <summary>
/// Proposes candidate rules from the data up to <c>T</c>, so that a team with no model starts from evidence: one trait
/// rule per frequent value of a categorical trait, quantile buckets of a numeric trait, one event rule per frequent
/// track event (counted once: <c>limit {count: 1}</c>), one page rule per frequent first path segment.
/// </summary>
public static class RuleSuggester
{
    /// <summary>Suggests candidate rules from <paramref name="messages"/> up to <paramref name="asOf"/>; the outcome event itself is never a candidate.</summary>
    public static SuggestResult Suggest(LabMessages messages, DateTimeOffset asOf, OutcomeSpec outcome, SuggestOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(outcome);
        options ??= new SuggestOptions();
        long t = asOf.UtcTicks;
        var ordered = messages.Messages.Where(m => m.TimestampTicks <= t).OrderBy(m => m, Comparer<LeadMessage>.Create(LeadMessage.CompareOrder)).ToList();
        var traits = new Dictionary<string, Dictionary<string, JsonNode?>>(StringComparer.Ordinal);
        var events = new Dictionary<string, HashSet<string>>(StringComparer.OrdinalIgnoreCase);
        var eventNames = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var paths = new Dictionary<string, HashSet<string>>(StringComparer.OrdinalIgnoreCase);
        var leads = new HashSet<string>(StringComparer.Ordinal);
        bool outcomeSeen = messages.Messages.Any(m => m.Type == MessageType.Track && string.Equals(m.Event, outcome.Event, StringComparison.OrdinalIgnoreCase));
        if (!outcomeSeen)
        {
            throw new LabException($"the outcome event '{outcome.Event}' does not occur in the messages (no track event of that name)");
        }

        foreach (var m in ordered)
        {
            leads.Add(m.LeadId);
            switch (m.Type)
            {
                case MessageType.Identify:
                    if (JsonNode.Parse(m.ToJson())?["traits"] is JsonObject tr)
                    {
                        if (!traits.TryGetValue(m.LeadId, out var mine))
                        {
                            traits[m.LeadId] = mine = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
                        }

                        foreach (var (k, v) in tr)
                        {
                            if (v is null)
                            {
                                mine.Remove(k);
                            }
                            else
                            {
                                mine[k] = v.DeepClone();
                            }
                        }
                    }

                    break;
                case MessageType.Track when m.Event is not null && !string.Equals(m.Event, outcome.Event, StringComparison.OrdinalIgnoreCase):
                    Add(events, m.Event, m.LeadId);
                    eventNames.TryAdd(m.Event, m.Event);
                    break;
                case MessageType.Page:
                    if ((string?)JsonNode.Parse(m.ToJson())?["properties"]?["path"] is { } path && Prefix(path) is { } prefix)
                    {
                        Add(paths, prefix, m.LeadId);
                    }

                    break;
                default:
                    break;
            }
        }

        int n = leads.Count;
        if (n == 0)
        {
            throw new LabException($"no message is at or before {asOf.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}: there is nothing to suggest from");
        }

        int min = Math.Max(5, (int)Math.Ceiling(options.MinShare * n));
        var rules = new JsonArray();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        string Id(string text)
        {
            var sb = new StringBuilder();
            foreach (char c in text.ToLowerInvariant())
            {
                sb.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
            }

            string id = string.Join('-', sb.ToString().Split('-', StringSplitOptions.RemoveEmptyEntries));
            string unique = id;
            for (int k = 2; !ids.Add(unique); k++)
            {
                unique = $"{id}-{k}";
            }

            return unique;
        }

        string Share(int count) => $"{count} of {n} leads ({(count / (double)n).ToString("0.0%", CultureInfo.InvariantCulture)}) up to {PointsFitter.Day(asOf)}";

        // Traits: every key seen, its values across leads.
        var keys = traits.Values.SelectMany(d => d.Keys).Distinct(StringComparer.Ordinal).OrderBy(k => k, StringComparer.Ordinal);
        foreach (var key in keys)
        {
            if (IdentityTraits.Contains(key))
            {
                continue;
            }

            var values = traits.Values.Where(d => d.ContainsKey(key)).Select(d => d[key]!).ToList();
            var numbers = values.Select(AsNumber).Where(v => v is not null).Select(v => v!.Value).ToList();
            // Numeric: (almost) every value is a number; the rest (typos, "n/a") are left out of the buckets.
            bool numeric = numbers.Count >= 0.9 * values.Count && numbers.Distinct().Count() >= 3;
            if (numeric)
            {
                numbers.Sort();
                var cuts = Enumerable.Range(1, options.Buckets - 1).Select(k => numbers[k * numbers.Count / options.Buckets]).Distinct().ToList();
                for (int b = 0; b <= cuts.Count; b++)
                {
                    var parts = new List<JsonNode>();
                    if (b > 0)
                    {
                        parts.Add(Leaf("traits." + key, "gt", cuts[b - 1]));
                    }

                    if (b < cuts.Count)
                    {
                        parts.Add(Leaf("traits." + key, "lte", cuts[b]));
                    }

                    int count = numbers.Count(v => (b == 0 || v > cuts[b - 1]) && (b == cuts.Count || v <= cuts[b]));
                    string range = b == 0 ? $"at most {PointsFitter.Fmt(cuts[0])}" : b == cuts.Count ? $"above {PointsFitter.Fmt(cuts[b - 1])}" : $"above {PointsFitter.Fmt(cuts[b - 1])}, at most {PointsFitter.Fmt(cuts[b])}";
                    rules.Add(Rule(Id($"{key}-q{b + 1}"), "fit", $"Suggested: {key} {range} (quantile bucket {b + 1} of {cuts.Count + 1}): {Share(count)}.",
                        parts.Count == 1 ? parts[0] : new JsonObject { ["all"] = new JsonArray([.. parts]) }));
                }

                continue;
            }

            // A trait with very many values (a name, a company) is an identifier, not a segment.
            if (values.Where(v => v is JsonValue).Select(v => v.ToJsonString().ToUpperInvariant()).Distinct().Count() > MaxDistinctValues)
            {
                continue;
            }

            var groups = values.Where(v => v is JsonValue).Select(v => v.GetValueKind() switch
            {
                JsonValueKind.String => (Key: v.GetValue<string>().Trim(), Node: (JsonNode)JsonValue.Create(v.GetValue<string>().Trim())),
                JsonValueKind.Number => (Key: v.ToJsonString(), Node: v.DeepClone()),
                JsonValueKind.True => (Key: "true", Node: JsonValue.Create(true)),
                JsonValueKind.False => (Key: "false", Node: JsonValue.Create(false)),
                _ => (Key: "", Node: (JsonNode)JsonValue.Create("")),
            }).Where(g => g.Key.Length > 0)
                .GroupBy(g => g.Key, StringComparer.OrdinalIgnoreCase)
                .Select(g => (g.Key, Node: g.First().Node, Count: g.Count()))
                .Where(g => g.Count >= min && g.Count < n)
                .OrderByDescending(g => g.Count).ThenBy(g => g.Key, StringComparer.Ordinal)
                .Take(options.MaxValuesPerTrait);
            foreach (var (value, node, count) in groups)
            {
                rules.Add(Rule(Id($"{key}-{value}"), "fit", $"Suggested: {key} is {value}: {Share(count)}.", Leaf("traits." + key, "eq", node)));
            }
        }

        foreach (var (name, who) in events.OrderByDescending(e => e.Value.Count).ThenBy(e => e.Key, StringComparer.Ordinal))
        {
            if (who.Count >= min)
            {
                var rule = Rule(Id("event-" + name), "engagement", $"Suggested: '{eventNames[name]}' at least once: {Share(who.Count)}.", null);
                rule["on"] = eventNames[name];
                rule["limit"] = new JsonObject { ["count"] = 1 };
                rules.Add(rule);
            }
        }

        foreach (var (prefix, who) in paths.OrderByDescending(e => e.Value.Count).ThenBy(e => e.Key, StringComparer.Ordinal))
        {
            if (who.Count >= min)
            {
                var rule = Rule(Id("page-" + prefix), "engagement", $"Suggested: a page under {prefix} at least once: {Share(who.Count)}.", Leaf("properties.path", "startsWith", prefix));
                rule["on"] = "$page";
                rule["limit"] = new JsonObject { ["count"] = 1 };
                rules.Add(rule);
            }
        }

        var doc = new JsonObject
        {
            ["name"] = "suggested",
            ["version"] = PointsFitter.Day(asOf),
            ["description"] = $"Candidate rules suggested by leadscore suggest from {n} leads up to {PointsFitter.Day(asOf)}; every rule has 0 points until leadscore fit sets them.",
            ["scores"] = new JsonArray(
                new JsonObject { ["name"] = "fit" },
                new JsonObject { ["name"] = "engagement" },
                new JsonObject { ["name"] = "total", ["sum"] = new JsonObject { ["fit"] = 1, ["engagement"] = 1 } }),
            ["rules"] = rules,
            ["outcome"] = new JsonObject { ["event"] = outcome.Event, ["withinDays"] = outcome.WithinDays },
        };
        string json = doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
        var model = ScoringModelLoader.Load(json);
        if (!model.IsValid)
        {
            throw new LabException("the suggested model does not validate: " + string.Join("; ", model.Errors.Select(e => e.ToString())));
        }

        return new SuggestResult(json, model.Model!, n);
    }

    /// <summary>Traits that name a person or a way to reach them: never a candidate.</summary>
    private static readonly HashSet<string> IdentityTraits = new(
        ["email", "phone", "name", "firstName", "lastName", "first_name", "last_name", "username", "userId", "id", "address", "avatar", "birthday", "website"],
        StringComparer.OrdinalIgnoreCase);

    /// <summary>A categorical trait with more distinct values than this is taken for an identifier and skipped.</summary>
    private const int MaxDistinctValues = 50;

    private static double? AsNumber(JsonNode node) =>
        node is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? v.GetValue<double>()
        : node is JsonValue s && s.GetValueKind() == JsonValueKind.String && double.TryParse(s.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d) ? d
        : null;

    private static void Add(Dictionary<string, HashSet<string>> map, string key, string lead)
    {
        if (!map.TryGetValue(key, out var set))
        {
            map[key] = set = new HashSet<string>(StringComparer.Ordinal);
        }

        set.Add(lead);
    }

    /// <summary>The first path segment with its slash (<c>/pricing/team</c> -> <c>/pricing</c>); null for the root.</summary>
    internal static string? Prefix(string path)
    {
        if (!path.StartsWith('/') || path.Length < 2)
        {
            return null;
        }

        int end = path.IndexOfAny(['/', '?', '#'], 1);
        string prefix = end < 0 ? path : path[..end];
        return prefix.Length < 2 ? null : prefix.ToLowerInvariant();
    }

    private static JsonObject Leaf(string field, string op, JsonNode value) => new() { ["field"] = field, ["op"] = op, ["value"] = value };

    private static JsonObject Leaf(string field, string op, double value) => Leaf(field, op, JsonValue.Create(value));

    private static JsonObject Rule(string id, string score, string description, JsonNode? when)
    {
        var rule = new JsonObject { ["id"] = id, ["score"] = score, ["points"] = 0, ["description"] = description };
        if (when is not null)
        {
            rule["when"] = when;
        }

        return rule;
    }
}
