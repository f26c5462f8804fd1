using System.Collections.Immutable;
using LeadScoring.Engine;
using LeadScoring.Model;

namespace LeadScoring.Lab;

/// <summary>One lead whose result differs between the two models.</summary>
/// <param name="LeadId">The lead.</param>
/// <param name="Scores">Per score both models have: (name, value under A, value under B).</param>
/// <param name="GradeA">Grade under A.</param>
/// <param name="GradeB">Grade under B.</param>
/// <param name="StageA">Stage at <c>T</c> under A.</param>
/// <param name="StageB">Stage at <c>T</c> under B.</param>
public sealed record LeadChange(string LeadId, ImmutableArray<(string Score, double A, double B)> Scores, string? GradeA, string? GradeB, string? StageA, string? StageB);

/// <summary>How one score's distribution moved: mean and quantiles under each model.</summary>
/// <param name="Score">The score.</param>
/// <param name="MeanA">Mean under A.</param>
/// <param name="MeanB">Mean under B.</param>
/// <param name="QuantilesA">10th, 25th, 50th, 75th and 90th percentiles under A.</param>
/// <param name="QuantilesB">The same under B.</param>
public sealed record ScoreShift(string Score, double MeanA, double MeanB, ImmutableArray<double> QuantilesA, ImmutableArray<double> QuantilesB);

/// <summary>How many points one rule moves: its points and its contributions over all leads under each model.</summary>
/// <param name="Rule">The rule id.</param>
/// <param name="PointsA">Its points in A (null: not in A).</param>
/// <param name="PointsB">Its points in B (null: not in B).</param>
/// <param name="TotalA">Its contributions over all leads under A.</param>
/// <param name="TotalB">Its contributions over all leads under B.</param>
/// <param name="LeadsA">Leads it fired for under A.</param>
/// <param name="LeadsB">Leads it fired for under B.</param>
public sealed record RuleMove(string Rule, double? PointsA, double? PointsB, double TotalA, double TotalB, int LeadsA, int LeadsB)
{
    /// <summary><see cref="TotalB"/> minus <see cref="TotalA"/>.</summary>
    public double Moved => TotalB - TotalA;
}

/// <summary>What <c>leadscore diff</c> reports: what changing model A into model B does to the same leads.</summary>
public sealed class DiffResult
{
    internal DiffResult()
    {
    }

    /// <summary>Model A's name and version.</summary>
    public string ModelA { get; internal init; } = "";

    /// <summary>Model B's name and version.</summary>
    public string ModelB { get; internal init; } = "";

    /// <summary>The as-of time.</summary>
    public DateTimeOffset AsOf { get; internal init; }

    /// <summary>Leads scored.</summary>
    public int Leads { get; internal init; }

    /// <summary>Every lead whose scores, grade or stage differ, by lead id.</summary>
    public ImmutableArray<LeadChange> Changed { get; internal init; } = [];

    /// <summary>Leads whose grade differs.</summary>
    public int GradeChanges { get; internal init; }

    /// <summary>Leads whose stage differs.</summary>
    public int StageChanges { get; internal init; }

    /// <summary>MQLs under A (-1: A has no MQL stage).</summary>
    public int MqlsA { get; internal init; }

    /// <summary>MQLs under B (-1: B has no MQL stage).</summary>
    public int MqlsB { get; internal init; }

    /// <summary>Leads that are MQLs under B and not under A.</summary>
    public ImmutableArray<string> MqlsGained { get; internal init; } = [];

    /// <summary>Leads that are MQLs under A and not under B.</summary>
    public ImmutableArray<string> MqlsLost { get; internal init; } = [];

    /// <summary>Per score both models have: how its distribution moved.</summary>
    public ImmutableArray<ScoreShift> Shifts { get; internal init; } = [];

    /// <summary>Per rule of either model: the points it moves.</summary>
    public ImmutableArray<RuleMove> Rules { get; internal init; } = [];

    /// <summary>With an outcome: model A's backtest.</summary>
    public BacktestResult? BacktestA { get; internal init; }

    /// <summary>With an outcome: model B's backtest.</summary>
    public BacktestResult? BacktestB { get; internal init; }
}

/// <summary>Compares two models on the same messages.</summary>
public static class ModelDiff
{
    /// <summary>Scores <paramref name="messages"/> with both models as of <paramref name="asOf"/> and compares the results.</summary>
    /// <param name="a">The model in use.</param>
    /// <param name="b">The changed model.</param>
    /// <param name="messages">The messages.</param>
    /// <param name="asOf">The as-of time.</param>
    /// <param name="outcome">With an outcome, both models are backtested too.</param>
    /// <param name="score">The score the backtests rank.</param>
    public static DiffResult Run(ScoringModel a, ScoringModel b, LabMessages messages, DateTimeOffset asOf, OutcomeSpec? outcome = null, string? score = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(messages);
        var ra = LabScorer.ScoreAt(CompiledModel.Compile(a), messages.Messages, asOf, explain: true);
        var rb = LabScorer.ScoreAt(CompiledModel.Compile(b), messages.Messages, asOf, explain: true);
        var byIdB = rb.ToDictionary(r => r.LeadId, StringComparer.Ordinal);
        var common = a.Scores.Select(s => s.Name).Where(n => b.Scores.Any(s => s.Name == n)).ToList();
        var changed = ImmutableArray.CreateBuilder<LeadChange>();
        var gained = ImmutableArray.CreateBuilder<string>();
        var lost = ImmutableArray.CreateBuilder<string>();
        int grades = 0, stages = 0;
        foreach (var x in ra)
        {
            var y = byIdB[x.LeadId];
            var scores = common.Select(n => (n, x[n], y[n])).ToImmutableArray();
            bool differs = common.Any(n => x[n] != y[n] || x.Raw(n) != y.Raw(n)) || x.Grade != y.Grade || x.Stage != y.Stage;
            grades += x.Grade != y.Grade ? 1 : 0;
            stages += x.Stage != y.Stage ? 1 : 0;
            if (differs)
            {
                changed.Add(new LeadChange(x.LeadId, scores, x.Grade, y.Grade, x.Stage, y.Stage));
            }

            bool ma = Backtester.IsMql(a, x.Stage), mb = Backtester.IsMql(b, y.Stage);
            if (mb && !ma)
            {
                gained.Add(x.LeadId);
            }
            else if (ma && !mb)
            {
                lost.Add(x.LeadId);
            }
        }

        var shifts = common.Select(n =>
        {
            var va = ra.Select(r => r[n]).OrderBy(v => v).ToArray();
            var vb = rb.Select(r => r[n]).OrderBy(v => v).ToArray();
            return new ScoreShift(n, va.Average(), vb.Average(), Quantiles(va), Quantiles(vb));
        }).ToImmutableArray();

        var ids = a.Rules.Select(r => r.Id).Concat(b.Rules.Select(r => r.Id)).Distinct(StringComparer.Ordinal);
        var moves = ids.Select(id =>
        {
            var (ta, la) = Total(ra, id);
            var (tb, lb) = Total(rb, id);
            return new RuleMove(id, a.Rules.FirstOrDefault(r => r.Id == id)?.Points, b.Rules.FirstOrDefault(r => r.Id == id)?.Points, ta, tb, la, lb);
        }).ToImmutableArray();

        BacktestResult? backA = null, backB = null;
        if (outcome is not null)
        {
            string s = score ?? DefaultScore(a);
            backA = Backtester.Run(LabDataset.Build(a, messages, asOf, outcome), s, headroom: false);
            backB = Backtester.Run(LabDataset.Build(b, messages, asOf, outcome), s, headroom: false);
        }

        return new DiffResult
        {
            ModelA = $"{a.Name} {a.Version}",
            ModelB = $"{b.Name} {b.Version}",
            AsOf = asOf,
            Leads = ra.Count,
            Changed = changed.ToImmutable(),
            GradeChanges = grades,
            StageChanges = stages,
            MqlsA = Backtester.CountMqls(a, ra.Select(r => r.Stage)),
            MqlsB = Backtester.CountMqls(b, rb.Select(r => r.Stage)),
            MqlsGained = gained.ToImmutable(),
            MqlsLost = lost.ToImmutable(),
            Shifts = shifts,
            Rules = moves,
            BacktestA = backA,
            BacktestB = backB,
        };
    }

    /// <summary>The score a lab command ranks by default: <c>total</c> where the model has it, else its first score.</summary>
    public static string DefaultScore(ScoringModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.Scores.Any(s => s.Name == "total") ? "total" : model.Scores[0].Name;
    }

    private static (double Total, int Leads) Total(IReadOnlyList<LeadResult> results, string rule)
    {
        double total = 0;
        int leads = 0;
        foreach (var r in results)
        {
            foreach (var c in r.Contributions)
            {
                if (c.Rule == rule)
                {
                    total += c.Points;
                    leads++;
                }
            }
        }

        return (total, leads);
    }

    /// <summary>Nearest-rank percentiles 10, 25, 50, 75, 90 of sorted values.</summary>
    private static ImmutableArray<double> Quantiles(double[] sorted) =>
        [.. new[] { 0.10, 0.25, 0.50, 0.75, 0.90 }.Select(q => sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Length) - 1, 0, sorted.Length - 1)])];
}
