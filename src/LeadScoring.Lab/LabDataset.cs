using System.Collections.Immutable;
using System.Text.Json.Nodes;
using LeadScoring.Engine;
using LeadScoring.Model;

namespace LeadScoring.Lab;

/// <summary>
/// The leads of a message file scored as of <c>T</c>, with their outcome: the population of a backtest or a fit.
/// Leads that converted at or before <c>T</c> are left out and counted in <see cref="ConvertedBefore"/>.
/// </summary>
public sealed class LabDataset
{
    private LabDataset(ScoringModel model, DateTimeOffset asOf, OutcomeSpec outcome, ImmutableArray<LeadResult> leads, ImmutableArray<bool> labels, int convertedBefore, double[][] features)
    {
        Model = model;
        AsOf = asOf;
        Outcome = outcome;
        Leads = leads;
        Labels = labels;
        ConvertedBefore = convertedBefore;
        Features = features;
    }

    /// <summary>The model scored.</summary>
    public ScoringModel Model { get; }

    /// <summary>The as-of time <c>T</c>.</summary>
    public DateTimeOffset AsOf { get; }

    /// <summary>The outcome predicted.</summary>
    public OutcomeSpec Outcome { get; }

    /// <summary>The leads (with explanations), ordered by lead id.</summary>
    public ImmutableArray<LeadResult> Leads { get; }

    /// <summary>Per lead: whether it converts in <c>(T, T + window]</c>.</summary>
    public ImmutableArray<bool> Labels { get; }

    /// <summary>How many leads converted at or before <c>T</c> and were left out.</summary>
    public int ConvertedBefore { get; }

    /// <summary>The number of positives.</summary>
    public int Positives => Labels.Count(l => l);

    /// <summary>
    /// Per lead, per rule (model order): the rule's feature at <c>T</c>, 0 or 1 for a trait rule, the rule's share
    /// divided by its points for an event rule (so limits, <c>after</c>, decay and caps are respected).
    /// </summary>
    internal double[][] Features { get; }

    /// <summary>Scores the leads of <paramref name="messages"/> as of <paramref name="asOf"/> and labels them with the outcome.</summary>
    /// <exception cref="LabException">No message has the outcome event, or no lead is left to score.</exception>
    public static LabDataset Build(ScoringModel model, LabMessages messages, DateTimeOffset asOf, OutcomeSpec outcome)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(outcome);
        var index = new OutcomeIndex(messages.Messages, outcome);
        if (index.EventCount == 0)
        {
            var seen = messages.Messages.Where(m => m.Event is not null).GroupBy(m => m.Event!, StringComparer.OrdinalIgnoreCase)
                .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(8).Select(g => $"'{g.Key}'");
            throw new LabException($"the outcome event '{outcome.Event}' does not occur in the messages (no track event of that name); events seen: {string.Join(", ", seen)}");
        }

        // Rules with 0 points have no share to read: score with 1 point instead (their points are what a fit sets).
        // The leads' scores, grades and stages are the model's own; the features are read from a second pass where
        // rules with 0 points score 1 point instead (their share is what a fit sets points for).
        var results = LabScorer.ScoreAt(CompiledModel.Compile(model), messages.Messages, asOf, explain: true);
        var scoring = model.Rules.Any(r => r.Points == 0) ? WithPoints(model, model.Rules.ToDictionary(r => r.Id, r => r.Points == 0 ? 1 : r.Points)) : model;
        var featureResults = ReferenceEquals(scoring, model) ? results : LabScorer.ScoreAt(CompiledModel.Compile(scoring), messages.Messages, asOf, explain: true);
        var leads = ImmutableArray.CreateBuilder<LeadResult>();
        var featureLeads = new List<LeadResult>();
        var labels = ImmutableArray.CreateBuilder<bool>();
        int before = 0;
        for (int k = 0; k < results.Count; k++)
        {
            var r = results[k];
            var (b, w) = index.Label(r.LeadId, asOf, outcome.WithinDays);
            if (b)
            {
                before++;
                continue;
            }

            if (featureResults[k].LeadId != r.LeadId)
            {
                throw new InvalidOperationException($"the two scoring passes disagree on the leads ('{r.LeadId}' vs '{featureResults[k].LeadId}')");
            }

            leads.Add(r);
            featureLeads.Add(featureResults[k]);
            labels.Add(w);
        }

        if (leads.Count == 0)
        {
            throw new LabException($"no lead is left to score as of {asOf.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}: {(before > 0 ? $"all {before} converted before it" : "no message is at or before it")}");
        }

        var rules = scoring.Rules;
        var position = rules.Select((r, i) => (r.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
        var features = new double[leads.Count][];
        for (int i = 0; i < leads.Count; i++)
        {
            var row = new double[rules.Length];
            foreach (var c in featureLeads[i].Contributions)
            {
                if (position.TryGetValue(c.Rule, out int j))
                {
                    row[j] = rules[j].IsEventRule ? c.Points / rules[j].Points : 1;
                }
            }

            features[i] = row;
        }

        return new LabDataset(model, asOf, outcome, leads.ToImmutable(), labels.ToImmutable(), before, features)
        {
            _fired = featureLeads.Select(l => l.Contributions.Select(c => c.Rule).ToHashSet(StringComparer.Ordinal)).ToArray(),
        };
    }

    private HashSet<string>[] _fired = [];

    /// <summary>Whether rule <paramref name="ruleId"/> fired for lead <paramref name="lead"/> (index).</summary>
    internal bool Fired(int lead, string ruleId) => _fired[lead].Contains(ruleId);

    /// <summary>The value of score <paramref name="score"/> for every lead.</summary>
    public double[] ScoreValues(string score)
    {
        if (!Model.Scores.Any(s => s.Name == score))
        {
            throw new LabException($"the model has no score '{score}'; its scores: {string.Join(", ", Model.Scores.Select(s => s.Name))}");
        }

        return Leads.Select(l => l[score]).ToArray();
    }

    /// <summary>The model with new points for some rules (by id), through its JSON document, validated again.</summary>
    internal static ScoringModel WithPoints(ScoringModel model, IReadOnlyDictionary<string, double> points)
    {
        var doc = JsonNode.Parse(model.ToJson())!.AsObject();
        foreach (var rule in doc["rules"]!.AsArray())
        {
            string id = (string)rule!["id"]!;
            if (points.TryGetValue(id, out double p))
            {
                rule["points"] = p;
            }
        }

        return ScoringModelLoader.Load(doc.ToJsonString()).GetModelOrThrow("(lab)");
    }
}
