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
        var data = LabDataset.Build(candidates, Train, PlantedWorld.AsOf, outcome);
        Fit = PointsFitter.Fit(data, File.ReadAllText(World.CandidatesPath), "total");
    }

    public string Directory { get; }

    public PlantedWorld World { get; }

    public LabMessages Train { get; }

    public LabMessages HeldOut { get; }

    public FitResult Fit { get; }

    public double HeldOutAuc(LeadScoring.Model.ScoringModel model) =>
        Backtester.Run(LabDataset.Build(model, HeldOut, PlantedWorld.AsOf, new OutcomeSpec(PlantedWorld.Outcome, 90)), "total", headroom: false).Auc;

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

public sealed class PlantedTruthTests(PlantedWorldFixture world, ITestOutputHelper output) : IClassFixture<PlantedWorldFixture>
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
        output.WriteLine($"held-out AUC: planted {planted:0.0000}, fitted {fitted:0.0000}");
        planted.Should().BeGreaterThan(0.6, "the planted signal is real");
        fitted.Should().BeApproximately(planted, 0.01);
    }
}
