namespace LeadScoring.Lab;

/// <summary>The ranking measures of the lab, written out so that a hand calculation can check them.</summary>
public static class Metrics
{
    /// <summary>
    /// The area under the ROC curve: the chance that a random positive scores above a random negative, ties counting
    /// one half (the Mann-Whitney U statistic divided by <c>positives x negatives</c>). <see cref="double.NaN"/> when either class is empty.
    /// </summary>
    public static double Auc(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(labels);
        int n = scores.Count;
        var ranks = AverageRanks(scores);
        double sumPos = 0;
        long pos = 0;
        for (int i = 0; i < n; i++)
        {
            if (labels[i])
            {
                sumPos += ranks[i];
                pos++;
            }
        }

        long neg = n - pos;
        if (pos == 0 || neg == 0)
        {
            return double.NaN;
        }

        return (sumPos - (pos * (pos + 1) / 2.0)) / ((double)pos * neg);
    }

    /// <summary>The 95% confidence interval of an AUC by Hanley and McNeil (1982), clamped to [0, 1].</summary>
    public static (double Low, double High) AucConfidence(double auc, int positives, int negatives)
    {
        if (double.IsNaN(auc) || positives == 0 || negatives == 0)
        {
            return (double.NaN, double.NaN);
        }

        double q1 = auc / (2 - auc), q2 = 2 * auc * auc / (1 + auc);
        double variance = ((auc * (1 - auc)) + ((positives - 1) * (q1 - (auc * auc))) + ((negatives - 1) * (q2 - (auc * auc)))) / ((double)positives * negatives);
        double se = Math.Sqrt(Math.Max(variance, 0));
        return (Math.Max(0, auc - (1.96 * se)), Math.Min(1, auc + (1.96 * se)));
    }

    /// <summary>The ROC curve: (false-positive rate, true-positive rate) at every distinct score, from (0,0) to (1,1).</summary>
    public static IReadOnlyList<(double Fpr, double Tpr)> Roc(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        int n = scores.Count;
        var order = Enumerable.Range(0, n).OrderByDescending(i => scores[i]).ToArray();
        int pos = labels.Count(l => l), neg = n - pos;
        var points = new List<(double, double)> { (0, 0) };
        if (pos == 0 || neg == 0)
        {
            points.Add((1, 1));
            return points;
        }

        int tp = 0, fp = 0;
        for (int k = 0; k < n; k++)
        {
            if (labels[order[k]])
            {
                tp++;
            }
            else
            {
                fp++;
            }

            if (k == n - 1 || scores[order[k + 1]] != scores[order[k]])
            {
                points.Add((fp / (double)neg, tp / (double)pos));
            }
        }

        return points;
    }

    /// <summary>Spearman's rank correlation (Pearson's correlation of average ranks).</summary>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var rx = AverageRanks(x);
        var ry = AverageRanks(y);
        double mx = rx.Average(), my = ry.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < rx.Length; i++)
        {
            sxy += (rx[i] - mx) * (ry[i] - my);
            sxx += (rx[i] - mx) * (rx[i] - mx);
            syy += (ry[i] - my) * (ry[i] - my);
        }

        return sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>1-based ranks, ties sharing their average rank.</summary>
    internal static double[] AverageRanks(IReadOnlyList<double> values)
    {
        int n = values.Count;
        var order = Enumerable.Range(0, n).OrderBy(i => values[i]).ToArray();
        var ranks = new double[n];
        int k = 0;
        while (k < n)
        {
            int j = k;
            while (j + 1 < n && values[order[j + 1]] == values[order[k]])
            {
                j++;
            }

            double rank = ((k + j) / 2.0) + 1;
            for (int m = k; m <= j; m++)
            {
                ranks[order[m]] = rank;
            }

            k = j + 1;
        }

        return ranks;
    }

    /// <summary>Mean log-loss of probabilities, clipped away from 0 and 1.</summary>
    internal static double LogLoss(IReadOnlyList<double> p, IReadOnlyList<bool> labels)
    {
        double sum = 0;
        for (int i = 0; i < p.Count; i++)
        {
            double q = Math.Clamp(p[i], 1e-12, 1 - 1e-12);
            sum -= labels[i] ? Math.Log(q) : Math.Log(1 - q);
        }

        return sum / p.Count;
    }
}
