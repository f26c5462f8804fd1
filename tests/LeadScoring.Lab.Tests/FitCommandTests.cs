using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using LeadScoring.Model;
using Xunit.Abstractions;

namespace LeadScoring.Lab.Tests;

[Collection("planted")]
public sealed class FitCommandTests(PlantedWorldFixture world, ITestOutputHelper output) : IDisposable
{
    private readonly TempDir _dir = new();

    [Fact]
    public void Fit_on_the_command_line_writes_the_library_bytes_and_a_report_that_loads_in_Chromium()
    {
        string fitted = _dir.File("fitted.json"), report = _dir.File("fit.html");
        var r = Cli.Run("fit", "--model", world.World.CandidatesPath, "--events", world.World.TrainPath, "--as-of", "2026-10-01T00:00:00Z", "--out", fitted, "--report", report);
        r.ExitCode.Should().Be(0, r.Stderr);
        File.ReadAllText(fitted).Should().Be(world.Fit.Json, "the model's outcome is used, and the tool writes what the library fitted");
        r.Stdout.Should().Contain("cross-validated AUC").And.Contain("title-vp");

        string dom = Chromium.DumpDom(report, _dir.File("profile"));
        Regex.Match(dom, "<body[^>]*>").Value.Should().NotContain("data-error").And.Contain("data-charts=\"");
        int charts = int.Parse(Regex.Match(dom, "data-charts=\"(\\d+)\"").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        charts.Should().BeGreaterThanOrEqualTo(4, "ROC before/after, lift, and the fitted model's charts");
        string html = File.ReadAllText(report);
        html.Should().Contain("Old and new points").And.Contain("MQLs before → after");
        foreach (var rule in world.Fit.Rules)
        {
            html.Should().Contain($"<td>{rule.Rule}</td>");
        }
    }

    [Fact]
    public void With_an_MQL_threshold_on_the_fitted_score_the_offset_puts_the_threshold_at_the_odds_of_the_current_MQLs()
    {
        // The planted points as the candidate model, with an MQL stage entered at total >= 60.
        var doc = JsonNode.Parse(File.ReadAllText(world.World.PlantedModelPath))!.AsObject();
        doc["stages"] = JsonNode.Parse("""[ { "name": "lead" }, { "name": "mql", "enter": { "field": "scores.total", "op": "gte", "value": 60 } } ]""");
        string text = doc.ToJsonString();
        var model = ScoringModelLoader.Load(text).GetModelOrThrow();
        var outcome = new OutcomeSpec(PlantedWorld.Outcome, 90);
        var data = LabDataset.Build(model, world.Train, PlantedWorld.AsOf, outcome);
        var fit = PointsFitter.Fit(data, text, "total");

        // The current MQLs' conversion, counted here from the leads' stages and outcomes.
        var stages = Backtester.Run(data, "total", headroom: false).ByStage.Single(s => s.Key == "mql");
        double mqlRate = stages.Positives / (double)stages.Leads;
        fit.OffsetPoints.Should().NotBeNull();
        var offsetRule = fit.Model.Rules.Single(r => r.Id == PointsFitter.OffsetRuleId);
        offsetRule.When.Should().BeNull("the offset holds for every lead");
        offsetRule.Points.Should().Be(fit.OffsetPoints!.Value);

        // The fitted log-odds of a lead at total = 60: intercept + (60 - offset) x ln 2 / 20, up to the rounding of the offset.
        double logitAtThreshold = fit.Intercept + ((60 - fit.OffsetPoints.Value) * Math.Log(2) / 20);
        double p = 1 / (1 + Math.Exp(-logitAtThreshold));
        output.WriteLine($"offset {fit.OffsetPoints}, MQL rate {mqlRate:0.0000}, fitted p at 60 {p:0.0000}");
        Math.Log(p / (1 - p)).Should().BeApproximately(Math.Log(mqlRate / (1 - mqlRate)), 0.5 * Math.Log(2) / 20 + 1e-9);
        fit.Notes.Should().Contain(n => n.Contains("fitted-offset", StringComparison.Ordinal) && n.Contains("MQL threshold", StringComparison.Ordinal));
    }

    public void Dispose() => _dir.Dispose();
}
