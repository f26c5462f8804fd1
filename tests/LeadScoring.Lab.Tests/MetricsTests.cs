namespace LeadScoring.Lab.Tests;

/// <summary>The measures against figures worked out by hand.</summary>
public sealed class MetricsTests
{
    [Fact]
    public void The_AUC_interval_is_Hanley_McNeil()
    {
        // AUC 0.8, 50 positives, 50 negatives: Q1 = 0.8 / 1.2 = 0.66667, Q2 = 2 x 0.64 / 1.8 = 0.71111,
        // variance = (0.16 + 49 x 0.02667 + 49 x 0.07111) / 2500 = 0.0019804, SE = 0.044502, 1.96 SE = 0.087224.
        var (low, high) = Metrics.AucConfidence(0.8, 50, 50);
        low.Should().BeApproximately(0.712776, 1e-5);
        high.Should().BeApproximately(0.887224, 1e-5);
        Metrics.AucConfidence(0.99, 5, 5).High.Should().Be(1, "clamped to [0, 1]");
    }

    [Fact]
    public void Spearman_is_one_minus_six_d_squared_over_n_n2_minus_1_without_ties()
    {
        // Ranks 1,2,3,4 against 1,3,2,4: d^2 = 0+1+1+0 = 2, rho = 1 - 6 x 2 / (4 x 15) = 0.8.
        Metrics.Spearman([10, 20, 30, 40], [1, 3, 2, 4]).Should().BeApproximately(0.8, 1e-12);
        Metrics.Spearman([1, 2, 3], [30, 20, 10]).Should().BeApproximately(-1, 1e-12);
    }

    [Fact]
    public void The_ROC_curve_steps_through_each_distinct_score()
    {
        // Scores 3 (pos), 2 (neg), 2 (pos), 1 (neg): thresholds 3, 2, 1.
        var roc = Metrics.Roc([3, 2, 2, 1], [true, false, true, false]);
        roc.Should().Equal((0, 0), (0, 0.5), (0.5, 1), (1, 1));
    }
}
