using Xunit.Abstractions;
using LeadScoring.Lab;

namespace LeadScoring.Lab.Tests;

public sealed class PlantedWorldFixture : IDisposable
{
    public PlantedWorldFixture()
    {
        Directory = Path.Combine(Path.GetTempPath(), "leadscoring-lab-planted-" + Guid.NewGuid().ToString("N"));
        World = new PlantedWorld(Directory);
        Train = LabMessages.ReadFile(World.TrainPath);
        HeldOut = LabMessages.ReadFile(World.HeldOutPath);
        var outcome = new OutcomeSpec(PlantedWorld.Outcome, 90);
        var candidates = PlantedWorld.Load(World.CandidatesPath);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var data = LabDataset.Build(candidates, Train, PlantedWorld.AsOf, outcome);
        ScoreSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        Fit = PointsFitter.Fit(data, File.ReadAllText(World.CandidatesPath), "total");
        FitSeconds = clock.Elapsed.TotalSeconds;
        clock.Restart();
        Headroom = Backtester.Run(data, "total").HeadroomAuc;
        HeadroomSeconds = clock.Elapsed.TotalSeconds;
    }

    public string Directory { get; }

    public PlantedWorld World { get; }

    public LabMessages Train { get; }

    public LabMessages HeldOut { get; }

    public FitResult Fit { get; }

    public double ScoreSeconds { get; }

    public double FitSeconds { get; }

    public double Headroom { get; }

    public double HeadroomSeconds { get; }

    public double HeldOutAuc(LeadScoring.Model.ScoringModel model) =>
        Backtester.Run(LabDataset.Build(model, HeldOut, PlantedWorld.AsOf, new OutcomeSpec(PlantedWorld.Outcome, 90)), "total", headroom: false).Auc;

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

[CollectionDefinition("planted")]
public sealed class PlantedCollection : ICollectionFixture<PlantedWorldFixture>
{
}

[Collection("planted")]
public sealed class PlantedTruthTests(PlantedWorldFixture world, ITestOutputHelper output)
{
    [Fact]
    public void Fit_recovers_the_signs_and_order_of_the_planted_points()
    {
        var fitted = world.Fit.Rules.ToDictionary(r => r.Rule, r => r.NewPoints);
        var planted = PlantedWorld.Rules.Select(r => r.Points).ToArray();
        var recovered = PlantedWorld.Rules.Select(r => fitted[r.Id]).ToArray();
        foreach (var r in PlantedWorld.Rules)
        {
            output.WriteLine($"{r.Id,-20} planted {r.Points,5} fitted {fitted[r.Id],5}");
        }

        double rho = Metrics.Spearman(planted, recovered);
        output.WriteLine($"Spearman {rho:0.000}, cross-validated AUC {world.Fit.CrossValidatedAuc:0.000}, L1 {world.Fit.L1}");
        rho.Should().BeGreaterThanOrEqualTo(0.9);
        for (int i = 0; i < planted.Length; i++)
        {
            if (Math.Abs(planted[i]) >= 15)
            {
                Math.Sign(recovered[i]).Should().Be(Math.Sign(planted[i]), PlantedWorld.Rules[i].Id);
            }
        }
    }

    [Fact]
    public void The_fitted_model_ranks_held_out_leads_within_001_AUC_of_the_planted_model()
    {
        double planted = world.HeldOutAuc(PlantedWorld.Load(world.World.PlantedModelPath));
        double fitted = world.HeldOutAuc(world.Fit.Model);
        output.WriteLine($"held-out AUC: planted {planted:0.0000}, fitted {fitted:0.0000}; training: scoring {world.ScoreSeconds:0.0} s, fit {world.FitSeconds:0.0} s, headroom {world.HeadroomSeconds:0.0} s (black-box CV AUC {world.Headroom:0.0000})");
        planted.Should().BeGreaterThan(0.6, "the planted signal is real");
        fitted.Should().BeApproximately(planted, 0.01);
    }
}

[Collection("planted")]
public sealed class SuggestThenFitTests(PlantedWorldFixture world, ITestOutputHelper output)
{
    [Fact]
    public void Suggest_then_fit_ranks_held_out_leads_within_002_AUC_of_the_planted_model()
    {
        var outcome = new OutcomeSpec(PlantedWorld.Outcome, 90);
        var suggested = RuleSuggester.Suggest(world.Train, PlantedWorld.AsOf, outcome);
        suggested.Model.Rules.Should().NotBeEmpty();
        suggested.Model.Rules.Should().OnlyContain(r => r.Points == 0);
        suggested.Model.Rules.Select(r => r.Id).Should().Contain(["title-vp", "event-demo-requested", "page-pricing"]);
        suggested.Model.Rules.Should().NotContain(r => r.On.Contains(PlantedWorld.Outcome), "the outcome is never a candidate");
        suggested.Model.Rules.Count(r => r.Id.StartsWith("employees-q", StringComparison.Ordinal)).Should().Be(5, "five quantile buckets");
        output.WriteLine(string.Join(", ", suggested.Model.Rules.Select(r => r.Id)));

        var data = LabDataset.Build(suggested.Model, world.Train, PlantedWorld.AsOf, outcome);
        var candidates = Backtester.Run(data, "total", headroom: false);
        candidates.Auc.Should().Be(0.5, "every candidate has 0 points, so every lead scores 0");
        candidates.Rules.Single(r => r.Rule == "title-vp").Coverage.Should().BeInRange(0.07, 0.13, "coverage is read even where a rule has 0 points (about 10% are VPs)");
        var fit = PointsFitter.Fit(data, suggested.Json, "total");
        double planted = world.HeldOutAuc(PlantedWorld.Load(world.World.PlantedModelPath));
        double fitted = world.HeldOutAuc(fit.Model);
        output.WriteLine($"held-out AUC: planted {planted:0.0000}, suggest + fit {fitted:0.0000} ({fit.Rules.Count(r => r.NewPoints != 0)} of {fit.Rules.Length} rules kept)");
        fitted.Should().BeApproximately(planted, 0.02);
    }

    [Fact]
    public void Fit_is_deterministic_and_writes_a_valid_document_that_says_how_each_rule_was_fitted()
    {
        var again = PointsFitter.Fit(
            LabDataset.Build(PlantedWorld.Load(world.World.CandidatesPath), world.Train, PlantedWorld.AsOf, new OutcomeSpec(PlantedWorld.Outcome, 90)),
            File.ReadAllText(world.World.CandidatesPath),
            "total");
        again.Json.Should().Be(world.Fit.Json, "the same input gives the same bytes");

        var model = LeadScoring.Model.ScoringModelLoader.Load(world.Fit.Json);
        model.IsValid.Should().BeTrue();
        foreach (var rule in model.Model!.Rules)
        {
            rule.Description.Should().Contain("Fitted by leadscore fit").And.Contain("2026-10-01").And.Contain("cross-validated AUC");
        }

        model.Model.Outcome.Should().Be(new LeadScoring.Model.OutcomeDefinition(PlantedWorld.Outcome, 90));
        world.Fit.OffsetPoints.Should().BeNull("the planted model has no MQL threshold on 'total'");
        world.Fit.Rules.Where(r => r.NewPoints == 0).Should().OnlyContain(r => r.Note != null, "a rule set to 0 says why");
        world.Fit.Rules.Where(r => r.Weight == 0).Should().OnlyContain(r => r.NewPoints == 0 && r.Note!.Contains("dropped by L1"));
    }
}
