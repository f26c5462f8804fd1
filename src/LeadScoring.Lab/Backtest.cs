using System.Collections.Immutable;
using LeadScoring.Model;

namespace LeadScoring.Lab;

/// <summary>Conversion of one group of leads (a decile, a grade, a stage, a persona).</summary>
/// <param name="Key">The group: <c>1</c>..<c>10</c> for deciles (1 = highest scores), else the grade, stage or persona (<c>(none)</c> for null).</param>
/// <param name="Leads">Leads in the group.</param>
/// <param name="Positives">Of them, the leads that converted in the window.</param>
/// <param name="Rate">Positives divided by leads.</param>
/// <param name="Lift">Rate divided by the rate of all leads.</param>
/// <param name="MinScore">Lowest score in the group.</param>
/// <param name="MaxScore">Highest score in the group.</param>
public sealed record GroupRate(string Key, int Leads, int Positives, double Rate, double Lift, double MinScore, double MaxScore);

/// <summary>How one rule does: how often it fires and how leads with and without it convert.</summary>
/// <param name="Rule">The rule id.</param>
/// <param name="Score">The score it adds to.</param>
/// <param name="Points">Its points in the model.</param>
/// <param name="IsEventRule">Whether it is an event rule.</param>
/// <param name="Coverage">The share of leads it fired for (a trait rule that holds, an event rule with an award).</param>
/// <param name="RateWith">Conversion of the leads it fired for (NaN when none).</param>
/// <param name="RateWithout">Conversion of the other leads (NaN when none).</param>
public sealed record RuleStat(string Rule, string Score, double Points, bool IsEventRule, double Coverage, double RateWith, double RateWithout)
{
    /// <summary><see cref="RateWith"/> divided by the rate of all leads.</summary>
    public double Lift { get; init; } = double.NaN;
}

/// <summary>What <c>leadscore backtest</c> reports: how well a score ranks the leads that later convert.</summary>
public sealed class BacktestResult
{
    internal BacktestResult()
    {
    }

    /// <summary>The model's name and version.</summary>
    public string Model { get; internal init; } = "";

    /// <summary>The as-of time <c>T</c>.</summary>
    public DateTimeOffset AsOf { get; internal init; }

    /// <summary>The outcome.</summary>
    public OutcomeSpec Outcome { get; internal init; } = new("", 90);

    /// <summary>The score ranked.</summary>
    public string Score { get; internal init; } = "";

    /// <summary>Leads scored (converted-before leads excluded).</summary>
    public int Leads { get; internal init; }

    /// <summary>Leads that converted in <c>(T, T + window]</c>.</summary>
    public int Positives { get; internal init; }

    /// <summary>Leads left out because they converted at or before <c>T</c>.</summary>
    public int ConvertedBefore { get; internal init; }

    /// <summary>Positives divided by leads.</summary>
    public double BaseRate => Leads == 0 ? double.NaN : Positives / (double)Leads;

    /// <summary>The score's AUC.</summary>
    public double Auc { get; internal init; }

    /// <summary>Lower end of the AUC's 95% confidence interval (Hanley-McNeil).</summary>
    public double AucLow { get; internal init; }

    /// <summary>Upper end of the AUC's 95% confidence interval (Hanley-McNeil).</summary>
    public double AucHigh { get; internal init; }

    /// <summary>The ROC curve.</summary>
    public ImmutableArray<(double Fpr, double Tpr)> Roc { get; internal init; } = [];

    /// <summary>Lift by decile, highest scores first.</summary>
    public ImmutableArray<GroupRate> Deciles { get; internal init; } = [];

    /// <summary>Conversion by grade, in band order.</summary>
    public ImmutableArray<GroupRate> ByGrade { get; internal init; } = [];

    /// <summary>Conversion by stage at <c>T</c>, in stage order.</summary>
    public ImmutableArray<GroupRate> ByStage { get; internal init; } = [];

    /// <summary>Conversion by persona, in persona order.</summary>
    public ImmutableArray<GroupRate> ByPersona { get; internal init; } = [];

    /// <summary>Per rule: coverage, conversion with and without, points.</summary>
    public ImmutableArray<RuleStat> Rules { get; internal init; } = [];

    /// <summary>Cross-validated AUC of gradient-boosted trees (FastTree) on the same rule features: what a black box would reach.</summary>
    public double HeadroomAuc { get; internal init; } = double.NaN;

    /// <summary>Leads at or above the MQL stage at <c>T</c> (the stage named <c>mql</c>), or -1 where the model has none.</summary>
    public int Mqls { get; internal init; } = -1;
}

/// <summary>Runs a backtest.</summary>
public static class Backtester
{
    /// <summary>Backtests <paramref name="data"/>'s model on score <paramref name="score"/>.</summary>
    /// <param name="data">The scored, labelled leads.</param>
    /// <param name="score">The score ranked, e.g. <c>total</c>.</param>
    /// <param name="headroom">Whether to train the gradient-boosted comparison (a few seconds on large files).</param>
    public static BacktestResult Run(LabDataset data, string score, bool headroom = true)
    {
        ArgumentNullException.ThrowIfNull(data);
        var values = data.ScoreValues(score);
        var labels = data.Labels;
        int n = values.Length, pos = data.Positives;
        double auc = Metrics.Auc(values, labels);
        var (low, high) = Metrics.AucConfidence(auc, pos, n - pos);
        double baseRate = pos / (double)n;
        var model = data.Model;

        var rules = ImmutableArray.CreateBuilder<RuleStat>();
        foreach (var r in model.Rules)
        {
            int with = 0, withPos = 0;
            for (int i = 0; i < n; i++)
            {
                if (data.Fired(i, r.Id))
                {
                    with++;
                    withPos += labels[i] ? 1 : 0;
                }
            }

            double rateWith = with == 0 ? double.NaN : withPos / (double)with;
            double rateWithout = n - with == 0 ? double.NaN : (pos - withPos) / (double)(n - with);
            rules.Add(new RuleStat(r.Id, r.Score, r.Points, r.IsEventRule, with / (double)n, rateWith, rateWithout) { Lift = rateWith / baseRate });
        }

        double boosted = double.NaN;
        // Needs a rule that fired for some lead, and each class in every fold.
        if (headroom && model.Rules.Length > 0 && pos >= Learners.Folds && n - pos >= Learners.Folds && data.Features.Any(row => row.Any(v => v != 0)))
        {
            var oof = Learners.BoostedOutOfFold(data.Features, labels, Learners.AssignFolds(labels));
            boosted = Metrics.Auc(oof, labels);
        }

        return new BacktestResult
        {
            Model = $"{model.Name} {model.Version}",
            AsOf = data.AsOf,
            Outcome = data.Outcome,
            Score = score,
            Leads = n,
            Positives = pos,
            ConvertedBefore = data.ConvertedBefore,
            Auc = auc,
            AucLow = low,
            AucHigh = high,
            Roc = [.. Metrics.Roc(values, labels)],
            Deciles = Deciles(values, labels),
            ByGrade = Groups(values, labels, data.Leads.Select(l => l.Grade).ToList(), model.Grade?.Bands.Select(b => b.Grade) ?? []),
            ByStage = Groups(values, labels, data.Leads.Select(l => l.Stage).ToList(), model.Stages.Select(s => s.Name)),
            ByPersona = Groups(values, labels, data.Leads.Select(l => l.Persona).ToList(), model.Personas.Select(p => p.Name)),
            Rules = rules.ToImmutable(),
            HeadroomAuc = boosted,
            Mqls = CountMqls(model, data.Leads.Select(l => l.Stage)),
        };
    }

    /// <summary>The index of the MQL stage (named <c>mql</c>, case-insensitive), or -1.</summary>
    public static int MqlStage(ScoringModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        for (int i = 0; i < model.Stages.Length; i++)
        {
            if (string.Equals(model.Stages[i].Name, "mql", StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Whether a lead in <paramref name="stage"/> counts as an MQL: at or above the MQL stage.</summary>
    public static bool IsMql(ScoringModel model, string? stage)
    {
        ArgumentNullException.ThrowIfNull(model);
        int mql = MqlStage(model);
        if (mql < 0 || stage is null)
        {
            return false;
        }

        for (int i = mql; i < model.Stages.Length; i++)
        {
            if (model.Stages[i].Name == stage)
            {
                return true;
            }
        }

        return false;
    }

    internal static int CountMqls(ScoringModel model, IEnumerable<string?> stages) =>
        MqlStage(model) < 0 ? -1 : stages.Count(s => IsMql(model, s));

    /// <summary>
    /// Leads sorted by score, highest first (ties by lead order), cut into ten groups of <c>floor(n/10)</c> or one more:
    /// group k holds positions <c>[floor(k n / 10), floor((k + 1) n / 10))</c>. Empty groups (fewer than 10 leads) are left out.
    /// </summary>
    internal static ImmutableArray<GroupRate> Deciles(double[] values, IReadOnlyList<bool> labels)
    {
        int n = values.Length;
        double baseRate = labels.Count(l => l) / (double)n;
        var order = Enumerable.Range(0, n).OrderByDescending(i => values[i]).ThenBy(i => i).ToArray();
        var result = ImmutableArray.CreateBuilder<GroupRate>();
        for (int k = 0; k < 10; k++)
        {
            int from = k * n / 10, to = (k + 1) * n / 10;
            if (to <= from)
            {
                continue;
            }

            var members = order[from..to];
            int p = members.Count(i => labels[i]);
            double rate = p / (double)members.Length;
            result.Add(new GroupRate((k + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), members.Length, p, rate, rate / baseRate, members.Min(i => values[i]), members.Max(i => values[i])));
        }

        return result.ToImmutable();
    }

    internal static ImmutableArray<GroupRate> Groups(double[] values, IReadOnlyList<bool> labels, IReadOnlyList<string?> keys, IEnumerable<string> order)
    {
        int n = values.Length;
        double baseRate = labels.Count(l => l) / (double)n;
        var names = order.ToList();
        if (names.Count == 0)
        {
            return [];
        }

        names.Add("(none)");
        var result = ImmutableArray.CreateBuilder<GroupRate>();
        foreach (var name in names)
        {
            var members = Enumerable.Range(0, n).Where(i => (keys[i] ?? "(none)") == name).ToList();
            if (members.Count == 0 && name == "(none)")
            {
                continue;
            }

            int p = members.Count(i => labels[i]);
            double rate = members.Count == 0 ? double.NaN : p / (double)members.Count;
            result.Add(new GroupRate(name, members.Count, p, rate, rate / baseRate, members.Count == 0 ? double.NaN : members.Min(i => values[i]), members.Count == 0 ? double.NaN : members.Max(i => values[i])));
        }

        return result.ToImmutable();
    }
}
