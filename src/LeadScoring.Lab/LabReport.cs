using System.Globalization;
using System.Net;
using System.Text;

namespace LeadScoring.Lab;

/// <summary>
/// Writes the lab's one-file HTML report: inline CSS and SVG charts, no script from anywhere else, no network, so it
/// opens offline and can be mailed. The same result gives the same bytes (no clock is read).
/// </summary>
public static class LabReport
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>The report of a backtest.</summary>
    public static string Backtest(BacktestResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var h = Start($"Backtest of {result.Model}", $"{result.Model} · score '{result.Score}' as of {Time(result.AsOf)} · outcome '{result.Outcome.Event}' within {PointsFitter.Fmt(result.Outcome.WithinDays)} days");
        BacktestBody(h, result, "");
        return End(h);
    }

    /// <summary>The report of a fit: the fitted model's backtest beside the candidate's, and the old and new points.</summary>
    public static string Fit(FitResult fit, BacktestResult before, BacktestResult after)
    {
        ArgumentNullException.ThrowIfNull(fit);
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var h = Start($"Fit of {before.Model}", $"{before.Model} fitted on {fit.Leads} leads, {fit.Positives} positives · as of {Time(before.AsOf)} · outcome '{before.Outcome.Event}' within {PointsFitter.Fmt(before.Outcome.WithinDays)} days");
        h.Append("<section class=\"cards\">");
        Card(h, "AUC before", F3(before.Auc), "the points as they were");
        Card(h, "AUC after (in-sample)", F3(after.Auc), "the fitted points, on the same leads");
        Card(h, "Cross-validated AUC", F3(fit.CrossValidatedAuc), "5-fold: what to expect on new leads");
        Card(h, "Black box", F3(after.HeadroomAuc), "gradient-boosted trees on the same rules");
        Card(h, "MQLs before → after", $"{Mql(before.Mqls)} → {Mql(after.Mqls)}", "leads at or above the MQL stage");
        h.Append("</section>");
        h.Append("<section><h2>Old and new points</h2><p class=\"hint\">");
        foreach (var note in fit.Notes)
        {
            h.Append(Enc(note)).Append("<br>");
        }

        h.Append("</p><table class=\"points\"><thead><tr><th>Rule</th><th>Score</th><th class=\"n\">Old points</th><th class=\"n\">New points</th><th class=\"n\">Coverage</th><th class=\"n\">Conversion with</th><th class=\"n\">without</th><th>Note</th></tr></thead><tbody>");
        foreach (var r in fit.Rules)
        {
            var stat = before.Rules.FirstOrDefault(s => s.Rule == r.Rule);
            h.Append("<tr><td>").Append(Enc(r.Rule)).Append("</td><td>").Append(Enc(r.Score)).Append("</td><td class=\"n\">").Append(P(r.OldPoints))
                .Append("</td><td class=\"n\"><b>").Append(P(r.NewPoints)).Append("</b></td><td class=\"n\">").Append(Pct(stat?.Coverage)).Append("</td><td class=\"n\">")
                .Append(Pct(stat?.RateWith)).Append("</td><td class=\"n\">").Append(Pct(stat?.RateWithout)).Append("</td><td>").Append(Enc(r.Note ?? "")).Append("</td></tr>");
        }

        h.Append("</tbody></table></section>");
        h.Append("<section><h2>Ranking before and after</h2><div class=\"row\">");
        h.Append(Svg.Roc("roc", [("before", before.Roc, "#9aa5b1"), ("after", after.Roc, "#1769aa")]));
        h.Append(Svg.Bars("lift-after", "Lift by decile, fitted points (1 = highest scores)", after.Deciles.Select(d => (d.Key, d.Lift)).ToList(), 1, "0.0x"));
        h.Append("</div></section>");
        h.Append("<h2 class=\"part\">The fitted model in detail</h2>");
        BacktestBody(h, after, "fitted-");
        return End(h);
    }

    /// <summary>The report of a diff.</summary>
    public static string Diff(DiffResult diff)
    {
        ArgumentNullException.ThrowIfNull(diff);
        var h = Start($"{diff.ModelA} → {diff.ModelB}", $"What changing {diff.ModelA} into {diff.ModelB} does to {diff.Leads} leads as of {Time(diff.AsOf)}");
        h.Append("<section class=\"cards\">");
        Card(h, "Leads changed", diff.Changed.Length.ToString(Inv), $"of {diff.Leads}: any score, grade or stage");
        Card(h, "Grade changes", diff.GradeChanges.ToString(Inv), "leads whose grade moves");
        Card(h, "Stage changes", diff.StageChanges.ToString(Inv), "leads whose stage at the as-of time moves");
        Card(h, "MQLs", $"{Mql(diff.MqlsA)} → {Mql(diff.MqlsB)}", $"+{diff.MqlsGained.Length} gained, −{diff.MqlsLost.Length} lost");
        if (diff.BacktestA is { } ba && diff.BacktestB is { } bb)
        {
            Card(h, "AUC", $"{F3(ba.Auc)} → {F3(bb.Auc)}", $"'{ba.Outcome.Event}' within {PointsFitter.Fmt(ba.Outcome.WithinDays)} days");
        }

        h.Append("</section>");
        if (diff.BacktestA is { } a && diff.BacktestB is { } b)
        {
            h.Append("<section><h2>Ranking side by side</h2><div class=\"row\">");
            h.Append(Svg.Roc("roc", [("A", a.Roc, "#9aa5b1"), ("B", b.Roc, "#1769aa")]));
            h.Append(Svg.Bars("lift-b", "Lift by decile under B", b.Deciles.Select(d => (d.Key, d.Lift)).ToList(), 1, "0.0x"));
            h.Append("</div></section>");
        }

        h.Append("<section><h2>How each score moves</h2><table><thead><tr><th>Score</th><th class=\"n\">Mean A</th><th class=\"n\">Mean B</th><th class=\"n\">p10 A → B</th><th class=\"n\">p25</th><th class=\"n\">Median</th><th class=\"n\">p75</th><th class=\"n\">p90</th></tr></thead><tbody>");
        foreach (var s in diff.Shifts)
        {
            h.Append("<tr><td>").Append(Enc(s.Score)).Append("</td><td class=\"n\">").Append(P1(s.MeanA)).Append("</td><td class=\"n\">").Append(P1(s.MeanB)).Append("</td>");
            for (int q = 0; q < 5; q++)
            {
                h.Append("<td class=\"n\">").Append(P1(s.QuantilesA[q])).Append(" → ").Append(P1(s.QuantilesB[q])).Append("</td>");
            }

            h.Append("</tr>");
        }

        h.Append("</tbody></table></section>");
        h.Append("<section><h2>Points moved per rule</h2><table class=\"points\"><thead><tr><th>Rule</th><th class=\"n\">Points A</th><th class=\"n\">Points B</th><th class=\"n\">Leads A</th><th class=\"n\">Leads B</th><th class=\"n\">Points moved (all leads)</th></tr></thead><tbody>");
        foreach (var r in diff.Rules)
        {
            h.Append("<tr").Append(r.Moved != 0 || r.PointsA != r.PointsB ? " class=\"hl\"" : "").Append("><td>").Append(Enc(r.Rule)).Append("</td><td class=\"n\">").Append(r.PointsA is { } pa ? P(pa) : "—")
                .Append("</td><td class=\"n\">").Append(r.PointsB is { } pb ? P(pb) : "—").Append("</td><td class=\"n\">").Append(r.LeadsA).Append("</td><td class=\"n\">").Append(r.LeadsB)
                .Append("</td><td class=\"n\">").Append((r.Moved > 0 ? "+" : "") + P1(r.Moved)).Append("</td></tr>");
        }

        h.Append("</tbody></table></section>");
        h.Append("<section><h2>Leads that change</h2>");
        if (diff.MqlsGained.Length + diff.MqlsLost.Length > 0)
        {
            h.Append("<p>MQLs gained: ").Append(Enc(string.Join(", ", diff.MqlsGained.Take(100)))).Append(diff.MqlsGained.Length > 100 ? " …" : "")
                .Append("<br>MQLs lost: ").Append(Enc(string.Join(", ", diff.MqlsLost.Take(100)))).Append(diff.MqlsLost.Length > 100 ? " …" : "").Append("</p>");
        }

        var names = diff.Changed.IsEmpty ? [] : diff.Changed[0].Scores.Select(s => s.Score).ToList();
        h.Append("<table><thead><tr><th>Lead</th>");
        foreach (var n in names)
        {
            h.Append("<th class=\"n\">").Append(Enc(n)).Append(" A → B</th>");
        }

        h.Append("<th>Grade</th><th>Stage</th></tr></thead><tbody>");
        foreach (var c in diff.Changed.Take(200))
        {
            h.Append("<tr><td>").Append(Enc(c.LeadId)).Append("</td>");
            foreach (var (_, va, vb) in c.Scores)
            {
                h.Append("<td class=\"n\">").Append(P1(va)).Append(" → ").Append(P1(vb)).Append("</td>");
            }

            h.Append("<td>").Append(Enc(c.GradeA ?? "—")).Append(c.GradeA != c.GradeB ? " → " + Enc(c.GradeB ?? "—") : "").Append("</td><td>")
                .Append(Enc(c.StageA ?? "—")).Append(c.StageA != c.StageB ? " → " + Enc(c.StageB ?? "—") : "").Append("</td></tr>");
        }

        h.Append("</tbody></table>").Append(diff.Changed.Length > 200 ? $"<p class=\"hint\">The first 200 of {diff.Changed.Length} leads, by lead id; --json lists them all.</p>" : "").Append("</section>");
        return End(h);
    }

    private static void BacktestBody(StringBuilder h, BacktestResult r, string prefix)
    {
        h.Append("<section class=\"cards\">");
        Card(h, "Leads", r.Leads.ToString(Inv), r.ConvertedBefore > 0 ? $"{r.ConvertedBefore} already converted, left out" : "scored at the as-of time");
        Card(h, "Converted", r.Positives.ToString(Inv), $"{Pct(r.BaseRate)} within {PointsFitter.Fmt(r.Outcome.WithinDays)} days");
        Card(h, "AUC", F3(r.Auc), $"95% CI {F3(r.AucLow)}–{F3(r.AucHigh)}");
        Card(h, "Black box", F3(r.HeadroomAuc), "gradient-boosted trees on the same rules, cross-validated");
        if (r.Mqls >= 0)
        {
            Card(h, "MQLs", r.Mqls.ToString(Inv), "leads at or above the MQL stage");
        }

        h.Append("</section>");
        h.Append("<p class=\"hint\">AUC ").Append(F3(r.Auc)).Append(" means: take one lead that converted and one that did not; ")
            .Append(double.IsNaN(r.Auc) ? "—" : Math.Round(r.Auc * 100).ToString(Inv)).Append(" times in 100 the one that converted has the higher score. 0.5 is a coin flip, 1 is perfect. ")
            .Append("The black box shows what the same rules could reach if points were not the limit; a large gap means the rules interact in ways points cannot say.</p>");
        h.Append("<section><h2>Does a higher score mean more deals?</h2><div class=\"row\">");
        h.Append(Svg.Roc(prefix + "roc-main", [("score", r.Roc, "#1769aa")]));
        h.Append(Svg.Bars(prefix + "lift", "Lift by decile (1 = the 10% highest scores; 1.0x = average)", r.Deciles.Select(d => (d.Key, d.Lift)).ToList(), 1, "0.0x"));
        h.Append("</div><div class=\"row\">");
        if (!r.ByGrade.IsEmpty)
        {
            h.Append(Svg.Bars(prefix + "grade", "Conversion by grade", r.ByGrade.Select(g => (g.Key, g.Rate)).ToList(), r.BaseRate, "0%"));
        }

        if (!r.ByStage.IsEmpty)
        {
            h.Append(Svg.Bars(prefix + "stage", "Conversion by stage at the as-of time", r.ByStage.Select(g => (g.Key, g.Rate)).ToList(), r.BaseRate, "0%"));
        }

        h.Append("</div>");
        Groups(h, "Deciles", r.Deciles);
        Groups(h, "Grades", r.ByGrade);
        Groups(h, "Stages", r.ByStage);
        Groups(h, "Personas", r.ByPersona);
        h.Append("</section>");
        h.Append("<section><h2>The points table</h2><p class=\"hint\">Coverage: the share of leads the rule fired for. Lift: how much more often those leads converted than the average lead.</p>");
        h.Append("<table class=\"points\"><thead><tr><th>Rule</th><th>Score</th><th class=\"n\">Points</th><th class=\"n\">Coverage</th><th class=\"n\">Conversion with</th><th class=\"n\">without</th><th class=\"n\">Lift</th></tr></thead><tbody>");
        foreach (var s in r.Rules)
        {
            h.Append("<tr><td>").Append(Enc(s.Rule)).Append("</td><td>").Append(Enc(s.Score)).Append("</td><td class=\"n\">").Append(P(s.Points)).Append("</td><td class=\"n\">")
                .Append(Pct(s.Coverage)).Append("</td><td class=\"n\">").Append(Pct(s.RateWith)).Append("</td><td class=\"n\">").Append(Pct(s.RateWithout)).Append("</td><td class=\"n\">")
                .Append(double.IsNaN(s.Lift) ? "—" : s.Lift.ToString("0.00", Inv) + "x").Append("</td></tr>");
        }

        h.Append("</tbody></table></section>");
    }

    private static void Groups(StringBuilder h, string title, IReadOnlyList<GroupRate> groups)
    {
        if (groups.Count == 0)
        {
            return;
        }

        h.Append("<details><summary>").Append(Enc(title)).Append(" in numbers</summary><table><thead><tr><th>").Append(Enc(title)).Append("</th><th class=\"n\">Leads</th><th class=\"n\">Converted</th><th class=\"n\">Rate</th><th class=\"n\">Lift</th><th class=\"n\">Scores</th></tr></thead><tbody>");
        foreach (var g in groups)
        {
            h.Append("<tr><td>").Append(Enc(g.Key)).Append("</td><td class=\"n\">").Append(g.Leads).Append("</td><td class=\"n\">").Append(g.Positives).Append("</td><td class=\"n\">")
                .Append(Pct(g.Rate)).Append("</td><td class=\"n\">").Append(double.IsNaN(g.Lift) ? "—" : g.Lift.ToString("0.00", Inv) + "x").Append("</td><td class=\"n\">")
                .Append(P1(g.MinScore)).Append(" – ").Append(P1(g.MaxScore)).Append("</td></tr>");
        }

        h.Append("</tbody></table></details>");
    }

    private static StringBuilder Start(string title, string subtitle)
    {
        var h = new StringBuilder();
        h.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>")
            .Append(Enc(title)).Append("</title><style>").Append(Css).Append("</style></head><body><header><h1>").Append(Enc(title)).Append("</h1><p>")
            .Append(Enc(subtitle)).Append("</p></header><main>");
        return h;
    }

    private static string End(StringBuilder h) =>
        h.Append("</main><footer>Written by leadscore (LeadScoring model lab). One file, no network: charts are inline SVG.</footer>")
            .Append("<script>window.addEventListener('error',function(e){document.body.setAttribute('data-error',String(e.message));});")
            .Append("window.addEventListener('load',function(){document.body.setAttribute('data-charts',String(document.querySelectorAll('svg.chart').length));});</script>")
            .Append("</body></html>\n").ToString();

    private static void Card(StringBuilder h, string label, string value, string note) =>
        h.Append("<div class=\"card\"><div class=\"label\">").Append(Enc(label)).Append("</div><div class=\"value\">").Append(Enc(value)).Append("</div><div class=\"note\">").Append(Enc(note)).Append("</div></div>");

    internal static string Enc(string s) => WebUtility.HtmlEncode(s);

    private static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", Inv);

    private static string F3(double v) => double.IsNaN(v) ? "—" : v.ToString("0.000", Inv);

    private static string P(double v) => v.ToString("0.##", Inv);

    private static string P1(double v) => double.IsNaN(v) ? "—" : v.ToString("0.#", Inv);

    private static string Pct(double? v) => v is null || double.IsNaN(v.Value) ? "—" : v.Value.ToString("0.0%", Inv);

    private static string Mql(int n) => n < 0 ? "—" : n.ToString(Inv);

    private const string Css =
        "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}" +
        "header{background:#1769aa;color:#fff;padding:20px 32px}header h1{margin:0 0 4px;font-size:24px}header p{margin:0;opacity:.9}" +
        "main{padding:16px 32px;max-width:1200px}section{background:#fff;border-radius:8px;padding:16px 20px;margin:16px 0;box-shadow:0 1px 3px rgba(0,0,0,.08)}" +
        "h2{font-size:18px;margin:0 0 12px}h2.part{margin-top:32px}.cards{display:flex;flex-wrap:wrap;gap:12px;background:none;box-shadow:none;padding:0}" +
        ".card{background:#fff;border-radius:8px;padding:12px 16px;min-width:170px;box-shadow:0 1px 3px rgba(0,0,0,.08)}" +
        ".card .label{font-size:12px;text-transform:uppercase;color:#616e7c}.card .value{font-size:26px;font-weight:600;margin:4px 0}.card .note{font-size:12px;color:#616e7c}" +
        ".row{display:flex;flex-wrap:wrap;gap:24px}.hint{color:#52606d;font-size:14px}table{border-collapse:collapse;width:100%;font-size:14px;margin:8px 0}" +
        "th,td{padding:6px 8px;border-bottom:1px solid #e4e7eb;text-align:left}th{background:#f0f4f8}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}" +
        "tr.hl td{background:#fffbea}details{margin:8px 0}summary{cursor:pointer;color:#1769aa}footer{padding:16px 32px;color:#7b8794;font-size:12px}" +
        "svg.chart{background:#fff}svg.chart text{font-family:inherit;font-size:11px;fill:#3e4c59}";
}
