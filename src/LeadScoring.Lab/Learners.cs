using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.FastTree;

namespace LeadScoring.Lab;

/// <summary>
/// The numerics of the lab, all from ML.NET (Microsoft.ML 5.0.1): L-BFGS logistic regression with L1/L2 (OWL-QN) for
/// the fit, FastTree gradient-boosted trees for the headroom. One thread and a fixed seed, so the same input gives
/// the same numbers.
/// </summary>
internal static class Learners
{
    public const int Folds = 5;

    private sealed class Row
    {
        public bool Label { get; set; }

        public float[] Features { get; set; } = [];
    }

    private sealed class Prediction
    {
        public float Score { get; set; }
    }

    /// <summary>Stratified folds: positives and negatives each dealt round-robin in lead order.</summary>
    public static int[] AssignFolds(IReadOnlyList<bool> labels, int folds = Folds)
    {
        var fold = new int[labels.Count];
        int p = 0, n = 0;
        for (int i = 0; i < labels.Count; i++)
        {
            fold[i] = labels[i] ? p++ % folds : n++ % folds;
        }

        return fold;
    }

    private static IDataView View(MLContext ml, double[][] x, IReadOnlyList<bool> y, IEnumerable<int> rows, double[] scale)
    {
        int d = scale.Length;
        var schema = SchemaDefinition.Create(typeof(Row));
        schema[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, d);
        var data = rows.Select(i =>
        {
            var f = new float[d];
            for (int j = 0; j < d; j++)
            {
                f[j] = (float)(x[i][j] / scale[j]);
            }

            return new Row { Label = y[i], Features = f };
        }).ToList();
        return ml.Data.LoadFromEnumerable(data, schema);
    }

    /// <summary>Per column, the largest absolute value over <paramref name="rows"/> (1 where the column is all zero).</summary>
    public static double[] Scale(double[][] x, IEnumerable<int> rows, int d)
    {
        var s = new double[d];
        foreach (int i in rows)
        {
            for (int j = 0; j < d; j++)
            {
                s[j] = Math.Max(s[j], Math.Abs(x[i][j]));
            }
        }

        for (int j = 0; j < d; j++)
        {
            if (s[j] == 0)
            {
                s[j] = 1;
            }
        }

        return s;
    }

    /// <summary>A fitted logistic regression: logit = <see cref="Bias"/> + sum of <see cref="Weights"/> times the unscaled features.</summary>
    public sealed record LogisticModel(double[] Weights, double Bias)
    {
        public double Logit(double[] x)
        {
            double z = Bias;
            for (int j = 0; j < Weights.Length; j++)
            {
                z += Weights[j] * x[j];
            }

            return z;
        }
    }

    /// <summary>L-BFGS logistic regression with L1 <paramref name="l1"/> and L2 <paramref name="l2"/> on max-abs scaled features.</summary>
    public static LogisticModel FitLogistic(double[][] x, IReadOnlyList<bool> y, IReadOnlyList<int> rows, double l1, double l2)
    {
        int d = x.Length == 0 ? 0 : x[0].Length;
        var scale = Scale(x, rows, d);
        var ml = new MLContext(seed: 1);
        var trainer = ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
        {
            L1Regularization = (float)l1,
            L2Regularization = (float)l2,
            NumberOfThreads = 1,
            OptimizationTolerance = 1e-8f,
            MaximumNumberOfIterations = 2000,
            HistorySize = 20,
        });
        var model = trainer.Fit(View(ml, x, y, rows, scale));
        var linear = model.Model.SubModel;
        var w = new double[d];
        for (int j = 0; j < d; j++)
        {
            w[j] = linear.Weights[j] / scale[j];
        }

        return new LogisticModel(w, linear.Bias);
    }

    /// <summary>Out-of-fold FastTree scores (gradient-boosted trees), one per lead.</summary>
    public static double[] BoostedOutOfFold(double[][] x, IReadOnlyList<bool> y, int[] fold)
    {
        int n = y.Count, d = x.Length == 0 ? 0 : x[0].Length;
        var result = new double[n];
        for (int f = 0; f < Folds; f++)
        {
            var train = Enumerable.Range(0, n).Where(i => fold[i] != f).ToList();
            var test = Enumerable.Range(0, n).Where(i => fold[i] == f).ToList();
            if (test.Count == 0)
            {
                continue;
            }

            if (train.All(i => y[i]) || train.All(i => !y[i]))
            {
                foreach (int i in test)
                {
                    result[i] = 0;
                }

                continue;
            }

            var scale = Enumerable.Repeat(1.0, d).ToArray();
            var ml = new MLContext(seed: 1);
            var trainer = ml.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
            {
                NumberOfLeaves = 8,
                NumberOfTrees = 100,
                MinimumExampleCountPerLeaf = 10,
                LearningRate = 0.1,
                NumberOfThreads = 1,
            });
            var model = trainer.Fit(View(ml, x, y, train, scale));
            var scored = ml.Data.CreateEnumerable<Prediction>(model.Transform(View(ml, x, y, test, scale)), reuseRowObject: false).ToList();
            for (int k = 0; k < test.Count; k++)
            {
                result[test[k]] = scored[k].Score;
            }
        }

        return result;
    }
}
