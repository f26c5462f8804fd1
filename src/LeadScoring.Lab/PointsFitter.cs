using System.Collections.Immutable;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using LeadScoring.Model;

namespace LeadScoring.Lab;

/// <summary>Options of <see cref="PointsFitter"/>.</summary>
public sealed record FitOptions
{
    /// <summary>The scale: this many points double the odds of converting (the scorecard convention). Default 20.</summary>
    public double PointsToDoubleOdds { get; init; } = 20;

    /// <summary>Fit even with fewer than <see cref="PointsFitter.MinimumPerClass"/> positives or negatives.</summary>
    public bool Force { get; init; }

    /// <summary>The L1 strengths tried, the one with the best cross-validated log-loss kept.</summary>
    public ImmutableArray<double> L1Grid { get; init; } = [0.01, 0.03, 0.1, 0.3, 1, 3, 10];

    /// <summary>The (small, fixed) L2 strength, which keeps the optimisation well posed.</summary>
    public double L2 { get; init; } = 0.01;
}

/// <summary>One rule's old and new points after a fit.</summary>
/// <param name="Rule">The rule id.</param>
/// <param name="Score">Its score.</param>
/// <param name="OldPoints">Points before.</param>
/// <param name="NewPoints">Points after.</param>
/// <param name="Weight">The fitted log-odds weight per unit of the rule's feature (0 when dropped).</param>
/// <param name="Note">Why the rule got its points, where it is not the plain fit (dropped, never fired, not part of the score).</param>
public sealed record FittedRule(string Rule, string Score, double OldPoints, double NewPoints, double Weight, string? Note);

/// <summary>What <c>leadscore fit</c> produced.</summary>
public sealed class FitResult
{
    internal FitResult()
    {
    }

    /// <summary>The fitted model document (UTF-8 JSON text, indented, ending with a line break).</summary>
    public string Json { get; internal init; } = "";

    /// <summary>The fitted model, validated.</summary>
    public ScoringModel Model { get; internal init; } = null!;

    /// <summary>Per rule: old and new points.</summary>
    public ImmutableArray<FittedRule> Rules { get; internal init; } = [];

    /// <summary>Leads fitted on.</summary>
    public int Leads { get; internal init; }

    /// <summary>Positives among them.</summary>
    public int Positives { get; internal init; }

    /// <summary>Out-of-fold AUC of the chosen logistic regression (5-fold cross-validation).</summary>
    public double CrossValidatedAuc { get; internal init; }

    /// <summary>The L1 strength chosen by cross-validation.</summary>
    public double L1 { get; internal init; }

    /// <summary>The fitted intercept (log-odds of a lead with no rule firing).</summary>
    public double Intercept { get; internal init; }

    /// <summary>The offset rule's points, or null where the model has no MQL threshold on the fitted score.</summary>
    public double? OffsetPoints { get; internal init; }

    /// <summary>Plain-words notes on the whole fit (the scale, the offset).</summary>
    public ImmutableArray<string> Notes { get; internal init; } = [];
}

/// <summary>
/// Fits the points of a model's rules to outcomes: regularised logistic regression on the rules' features at <c>T</c>,
/// the L1 strength chosen by 5-fold cross-validation, the weights turned into integer points where
/// <see cref="FitOptions.PointsToDoubleOdds"/> points double the odds.
/// </summary>
public static class PointsFitter
{
    /// <summary>The least positives and negatives a fit accepts without <see cref="FitOptions.Force"/> (the Dynamics 365 minimum).</summary>
    public const int MinimumPerClass = 40;

    /// <summary>The id of the rule that carries the offset.</summary>
    public const string OffsetRuleId = "fitted-offset";

    /// <summary>Fits <paramref name="data"/>'s model to its outcomes.</summary>
    /// <param name="data">The candidate model's leads at <c>T</c>, labelled.</param>
    /// <param name="document">The candidate model's JSON document, edited in place so that its layout and keys survive.</param>
    /// <param name="score">The score whose ranking is fitted (its rules, through composite weights).</param>
    /// <param name="options">Options; default <see cref="FitOptions"/>.</param>
    /// <exception cref="LabException">Too little data, no positives, or an unknown score.</exception>
    public static FitResult Fit(LabDataset data, string document, string score, FitOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(document);
        options ??= new FitOptions();
        var model = data.Model;
        int n = data.Leads.Length, pos = data.Positives, neg = n - pos;
        if (pos == 0)
        {
            throw new LabException($"no lead converted ('{data.Outcome.Event}' within {Fmt(data.Outcome.WithinDays)} days after {Day(data.AsOf)}): there is nothing to fit; choose an earlier --as-of or a longer --window-days");
        }

        if (neg == 0)
        {
            throw new LabException("every lead converted: there is nothing to tell apart");
        }

        if (!options.Force && (pos < MinimumPerClass || neg < MinimumPerClass))
        {
            throw new LabException($"too little data: {pos} positives and {neg} negatives; a fit needs at least {MinimumPerClass} of each (use --force to fit anyway)");
        }

        var weights = ScoreWeights(model, score);
        var rules = model.Rules;
        var x = data.Features;
        var labels = data.Labels;
        var columns = new List<int>();
        for (int j = 0; j < rules.Length; j++)
        {
            if (weights.GetValueOrDefault(rules[j].Score) != 0 && x.Any(row => row[j] != 0))
            {
                columns.Add(j);
            }
        }

        if (columns.Count == 0)
        {
            throw new LabException($"no rule of score '{score}' fired for any lead: there is nothing to fit");
        }

        var xs = x.Select(row => columns.Select(j => row[j]).ToArray()).ToArray();
        var fold = Learners.AssignFolds(labels);
        double bestLoss = double.PositiveInfinity, bestL1 = options.L1Grid[0];
        double[] bestOof = [];
        foreach (double l1 in options.L1Grid)
        {
            var oof = new double[n];
            for (int f = 0; f < Learners.Folds; f++)
            {
                var train = Enumerable.Range(0, n).Where(i => fold[i] != f).ToList();
                var lr = Learners.FitLogistic(xs, labels, train, l1, options.L2);
                for (int i = 0; i < n; i++)
                {
                    if (fold[i] == f)
                    {
                        oof[i] = lr.Logit(xs[i]);
                    }
                }
            }

            double loss = Metrics.LogLoss(oof.Select(z => 1 / (1 + Math.Exp(-z))).ToList(), labels);
            // Ties (within a rounding error) go to the stronger penalty: the simpler model.
            if (loss <= bestLoss + 1e-9)
            {
                bestLoss = Math.Min(loss, bestLoss);
                bestL1 = l1;
                bestOof = oof;
            }
        }

        double cvAuc = Metrics.Auc(bestOof, labels);
        var final = Learners.FitLogistic(xs, labels, Enumerable.Range(0, n).ToList(), bestL1, options.L2);
        double factor = options.PointsToDoubleOdds / Math.Log(2);
        string stamp = $"{n} leads as of {Day(data.AsOf)}, {pos} positives ('{data.Outcome.Event}' within {Fmt(data.Outcome.WithinDays)} days), cross-validated AUC {cvAuc.ToString("0.000", CultureInfo.InvariantCulture)}; {Fmt(options.PointsToDoubleOdds)} points double the odds";

        var fitted = ImmutableArray.CreateBuilder<FittedRule>();
        var newPoints = new Dictionary<string, (double Points, string Description)>(StringComparer.Ordinal);
        for (int j = 0; j < rules.Length; j++)
        {
            var r = rules[j];
            double w = weights.GetValueOrDefault(r.Score);
            int c = columns.IndexOf(j);
            string? note;
            double points, weight = 0;
            if (w == 0)
            {
                note = $"not part of score '{score}': points unchanged";
                points = r.Points;
            }
            else if (c < 0)
            {
                note = "never fired in the data: points set to 0";
                points = 0;
            }
            else
            {
                weight = final.Weights[c];
                points = Math.Round(factor * weight / w, MidpointRounding.AwayFromZero);
                note = weight == 0 ? "dropped by L1: it adds nothing the other rules do not already say; points set to 0"
                    : points == 0 ? "its fitted weight rounds to 0 points" : null;
            }

            points += 0; // no negative zero in the output
            fitted.Add(new FittedRule(r.Id, r.Score, r.Points, points, weight, note));
            string unit = r.IsEventRule ? "award" : "lead it holds for";
            newPoints[r.Id] = (points, w == 0 ? r.Description ?? "" :
                $"Fitted by leadscore fit: {stamp}; log-odds weight {weight.ToString("0.####", CultureInfo.InvariantCulture)} per {unit}." + (note is null ? "" : " Note: " + note + "."));
        }

        // The offset: where a stage enters on a threshold of the fitted score, put that threshold at the odds with
        // which the old model's MQLs converted, so that "above the MQL threshold" keeps its meaning.
        var notes = ImmutableArray.CreateBuilder<string>();
        notes.Add($"Scale: {Fmt(options.PointsToDoubleOdds)} points double the odds of converting (points = round({Fmt(options.PointsToDoubleOdds)} / ln 2 x log-odds weight / the score's weight in '{score}').");
        double? offset = null;
        string? offsetScore = null;
        if (Threshold(model, score) is { } threshold && Backtester.MqlStage(model) >= 0)
        {
            var mqls = Enumerable.Range(0, n).Where(i => Backtester.IsMql(model, data.Leads[i].Stage)).ToList();
            offsetScore = weights.Where(kv => kv.Value != 0).Select(kv => kv.Key).FirstOrDefault(s => model.Scores.First(d => d.Name == s) is { IsComposite: false });
            if (mqls.Count > 0 && offsetScore is not null)
            {
                double rate = Math.Clamp(mqls.Count(i => labels[i]) / (double)mqls.Count, 0.5 / mqls.Count, 1 - (0.5 / mqls.Count));
                double logit = Math.Log(rate / (1 - rate));
                offset = Math.Round((threshold - (factor * (logit - final.Bias))) / weights[offsetScore], MidpointRounding.AwayFromZero) + 0;
                notes.Add($"Offset: rule '{OffsetRuleId}' adds {Fmt(offset.Value)} to '{offsetScore}' so that '{score}' = {Fmt(threshold)} (the MQL threshold) sits at the odds of the current MQLs, who converted at {rate.ToString("0.0%", CultureInfo.InvariantCulture)}.");
            }
        }

        if (offset is null)
        {
            notes.Add($"No offset: the model's MQL stage is not entered on a threshold of '{score}', so only the order of the scores is fitted.");
        }

        string json = WriteDocument(document, newPoints, offset, offsetScore, stamp, data.Outcome);
        var load = ScoringModelLoader.Load(json);
        if (!load.IsValid)
        {
            throw new LabException("the fitted model does not validate: " + string.Join("; ", load.Errors.Select(e => e.ToString())));
        }

        return new FitResult
        {
            Json = json,
            Model = load.Model!,
            Rules = fitted.ToImmutable(),
            Leads = n,
            Positives = pos,
            CrossValidatedAuc = cvAuc,
            L1 = bestL1,
            Intercept = final.Bias,
            OffsetPoints = offset,
            Notes = notes.ToImmutable(),
        };
    }

    /// <summary>Each plain score's weight in <paramref name="score"/> (1 for the score itself; composites multiplied through).</summary>
    internal static Dictionary<string, double> ScoreWeights(ScoringModel model, string score)
    {
        var byName = model.Scores.ToDictionary(s => s.Name, StringComparer.Ordinal);
        if (!byName.ContainsKey(score))
        {
            throw new LabException($"the model has no score '{score}'; its scores: {string.Join(", ", model.Scores.Select(s => s.Name))}");
        }

        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        void Walk(string name, double w)
        {
            var s = byName[name];
            if (!s.IsComposite)
            {
                result[name] = result.GetValueOrDefault(name) + w;
                return;
            }

            foreach (var (component, weight) in s.Sum)
            {
                Walk(component, w * weight);
            }
        }

        Walk(score, 1);
        return result;
    }

    /// <summary>The first <c>scores.&lt;score&gt; gte|gt X</c> in the MQL stage's <c>enter</c>, if any.</summary>
    internal static double? Threshold(ScoringModel model, string score)
    {
        string field = "scores." + score;
        double? Find(Condition? c) => c switch
        {
            FieldCondition f when f.Field == field && f.Operator is ConditionOperator.Gte or ConditionOperator.Gt && f.Value is { Kind: ModelValueKind.Number } v => v.Number,
            AllCondition a => a.Conditions.Select(Find).FirstOrDefault(t => t is not null),
            AnyCondition a => a.Conditions.Select(Find).FirstOrDefault(t => t is not null),
            _ => null,
        };
        int mql = Backtester.MqlStage(model);
        return mql < 0 ? null : Find(model.Stages[mql].Enter);
    }

    private static string WriteDocument(string document, Dictionary<string, (double Points, string Description)> points, double? offset, string? offsetScore, string stamp, OutcomeSpec outcome)
    {
        JsonObject doc;
        try
        {
            doc = JsonNode.Parse(document, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true })!.AsObject();
        }
        catch (JsonException ex)
        {
            throw new LabException("the candidate model is not JSON: " + ex.Message, ex);
        }

        var rules = doc["rules"] as JsonArray ?? [];
        foreach (var node in rules)
        {
            if (node is JsonObject rule && (string?)rule["id"] is { } id && points.TryGetValue(id, out var p))
            {
                rule["points"] = Number(p.Points);
                if (p.Description.Length > 0)
                {
                    rule["description"] = p.Description;
                }
            }
        }

        if (offset is not null && offsetScore is not null)
        {
            var existing = rules.OfType<JsonObject>().FirstOrDefault(r => (string?)r["id"] == OffsetRuleId);
            if (existing is not null)
            {
                rules.Remove(existing);
            }

            rules.Add(new JsonObject
            {
                ["id"] = OffsetRuleId,
                ["score"] = offsetScore,
                ["points"] = Number(offset.Value),
                ["description"] = $"Holds for every lead: keeps the MQL threshold's meaning after the fit ({stamp}).",
            });
        }

        if (doc["outcome"] is null)
        {
            doc["outcome"] = new JsonObject { ["event"] = outcome.Event, ["withinDays"] = Number(outcome.WithinDays) };
        }

        return doc.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }) + "\n";
    }

    private static JsonNode Number(double value) =>
        value == Math.Floor(value) && Math.Abs(value) < 1e15 ? JsonValue.Create((long)value) : JsonValue.Create(value);

    internal static string Fmt(double d) => d.ToString("0.####", CultureInfo.InvariantCulture);

    internal static string Day(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
