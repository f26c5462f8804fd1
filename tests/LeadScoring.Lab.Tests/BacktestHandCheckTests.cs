using System.Globalization;
using System.Text;
using System.Text.Json;

namespace LeadScoring.Lab.Tests;

/// <summary>
/// A 10-lead file whose figures are worked out by hand below. Model: <c>gold</c> tier +30, each
/// <c>Demo Requested</c> +20, and a <c>Deal Won</c> rule worth +100 that must never fire (outcomes come after T).
/// <code>
/// lead  score  converts ('Deal Won' in (T, T+90d])   grade (A >= 40, B >= 20, C)
/// L01   70     yes (T+10d)                            A
/// L02   50     no                                     A
/// L03   50     yes (T+30d)                            A
/// L04   30     yes (T+89d)                            B
/// L05   30     no                                     B
/// L06   20     no                                     B
/// L07   20     no                                     B
/// L08    0     yes (T+1h)                             C
/// L09    0     no  (T+100d: after the window)          C
/// L10    0     no                                     C
/// </code>
/// AUC by pairs (positive above negative 1, tie 1/2), 4 positives x 6 negatives = 24 pairs:
/// L01 beats all 6 = 6; L03 ties L02 and beats 5 = 5.5; L04 ties L05 and beats 4 = 4.5; L08 ties L09, L10 = 1.
/// AUC = 17 / 24. Deciles (one lead each, ties in lead order): rates 1,0,1,1,0,0,0,1,0,0 over a base of 0.4, so
/// lifts 2.5,0,2.5,2.5,0,0,0,2.5,0,0. Grades: A 2/3, B 1/4, C 1/3.
/// </summary>
public sealed class BacktestHandCheckTests : IDisposable
{
    private static readonly DateTimeOffset T = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new();

    public const string Model = """
        {
          "name": "hand", "version": "1",
          "scores": [ { "name": "fit" } ],
          "rules": [
            { "id": "gold", "score": "fit", "points": 30, "when": { "field": "traits.tier", "op": "eq", "value": "gold" } },
            { "id": "demo", "score": "fit", "points": 20, "on": "Demo Requested" },
            { "id": "won", "score": "fit", "points": 100, "on": "Deal Won" }
          ],
          "grade": { "score": "fit", "bands": [ { "grade": "A", "min": 40 }, { "grade": "B", "min": 20 }, { "grade": "C" } ] },
          "outcome": { "event": "Deal Won" }
        }
        """;

    internal static string Messages(bool withConvertedBefore = false)
    {
        var sb = new StringBuilder();
        int seq = 0;
        void Line(string lead, string type, DateTimeOffset at, string rest) =>
            sb.Append(CultureInfo.InvariantCulture, $$"""{"type":"{{type}}","messageId":"m{{seq++}}","userId":"{{lead}}","timestamp":"{{at.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}}"{{rest}}}""").Append('\n');
        void Identify(string lead, string tier) => Line(lead, "identify", T.AddDays(-30), $$""","traits":{"tier":"{{tier}}"}""");
        void Track(string lead, string name, DateTimeOffset at) => Line(lead, "track", at, $$""","event":"{{name}}" """.TrimEnd());
        string[] gold = ["L01", "L02", "L03", "L04", "L05"];
        for (int i = 1; i <= 10; i++)
        {
            string id = $"L{i:D2}";
            Identify(id, gold.Contains(id) ? "gold" : "silver");
        }

        Track("L01", "Demo Requested", T.AddDays(-5));
        Track("L01", "Demo Requested", T.AddDays(-4));
        Track("L02", "Demo Requested", T.AddDays(-3));
        Track("L03", "Demo Requested", T.AddDays(-2));
        Track("L06", "Demo Requested", T.AddDays(-2));
        Track("L07", "Demo Requested", T);
        Track("L01", "Deal Won", T.AddDays(10));
        Track("L03", "deal won", T.AddDays(30));
        Track("L04", "Deal Won", T.AddDays(89));
        Track("L08", "Deal Won", T.AddHours(1));
        Track("L09", "Deal Won", T.AddDays(100));
        if (withConvertedBefore)
        {
            Identify("L11", "gold");
            Track("L11", "Deal Won", T.AddDays(-1));
        }

        return sb.ToString();
    }

    private JsonElement Backtest(string messages)
    {
        var r = Cli.Run("backtest", "--model", _dir.Write("model.json", Model), "--events", _dir.Write("m.jsonl", messages), "--as-of", "2026-10-01T00:00:00Z", "--json");
        r.ExitCode.Should().Be(0, r.Stderr);
        return r.Json;
    }

    [Fact]
    public void Auc_lift_and_conversion_by_grade_match_the_hand_calculation()
    {
        var j = Backtest(Messages());
        j.GetProperty("leads").GetInt32().Should().Be(10);
        j.GetProperty("positives").GetInt32().Should().Be(4);
        j.GetProperty("convertedBefore").GetInt32().Should().Be(0);
        j.GetProperty("auc").GetDouble().Should().BeApproximately(17.0 / 24, 1e-9);
        var ci = j.GetProperty("aucCi95").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        ci[0].Should().BeLessThan(17.0 / 24);
        ci[1].Should().BeGreaterThan(17.0 / 24);

        // ROC by hand: thresholds 70, 50, 30, 20, 0 give (FPR, TPR) = (0, 1/4), (1/6, 2/4), (2/6, 3/4), (4/6, 3/4), (1, 1).
        j.GetProperty("roc").EnumerateArray().Select(p => (p[0].GetDouble(), p[1].GetDouble())).Should().Equal(
            [(0, 0), (0, 0.25), (Math.Round(1 / 6.0, 10), 0.5), (Math.Round(2 / 6.0, 10), 0.75), (Math.Round(4 / 6.0, 10), 0.75), (1, 1)]);

        var deciles = j.GetProperty("deciles").EnumerateArray().ToArray();
        deciles.Select(d => d.GetProperty("rate").GetDouble()).Should().Equal(1, 0, 1, 1, 0, 0, 0, 1, 0, 0);
        deciles.Select(d => d.GetProperty("lift").GetDouble()).Should().Equal(2.5, 0, 2.5, 2.5, 0, 0, 0, 2.5, 0, 0);
        deciles.Select(d => d.GetProperty("maxScore").GetDouble()).Should().Equal(70, 50, 50, 30, 30, 20, 20, 0, 0, 0);

        var grades = j.GetProperty("byGrade").EnumerateArray().ToDictionary(g => g.GetProperty("key").GetString()!, g => (g.GetProperty("leads").GetInt32(), g.GetProperty("positives").GetInt32()));
        grades.Should().Equal(new Dictionary<string, (int, int)> { ["A"] = (3, 2), ["B"] = (4, 1), ["C"] = (3, 1) });
    }

    [Fact]
    public void Outcome_events_after_T_never_score_and_a_lead_converted_before_T_is_left_out_and_counted()
    {
        var j = Backtest(Messages(withConvertedBefore: true));
        j.GetProperty("leads").GetInt32().Should().Be(10);
        j.GetProperty("convertedBefore").GetInt32().Should().Be(1);
        j.GetProperty("auc").GetDouble().Should().BeApproximately(17.0 / 24, 1e-9);
        var won = j.GetProperty("rules").EnumerateArray().Single(r => r.GetProperty("rule").GetString() == "won");
        won.GetProperty("coverage").GetDouble().Should().Be(0, "outcome events after T are never applied, so they cannot score");
    }

    [Fact]
    public void Without_json_the_figures_are_printed_as_tables()
    {
        var r = Cli.Run("backtest", "--model", _dir.Write("model.json", Model), "--events", _dir.Write("m.jsonl", Messages()), "--as-of", "2026-10-01T00:00:00Z");
        r.ExitCode.Should().Be(0, r.Stderr);
        r.Stdout.Should().Contain("leads 10, converted 4 (40.0%)").And.Contain("AUC 0.708");
        var lines = r.Stdout.Split('\n');
        lines.Should().Contain(l => l.Contains("│ A ", StringComparison.Ordinal) && l.Contains("66.7%", StringComparison.Ordinal), "grade A: 2 of 3");
        lines.Should().Contain(l => l.Contains("│ B ", StringComparison.Ordinal) && l.Contains("25.0%", StringComparison.Ordinal), "grade B: 1 of 4");
        lines.Should().Contain(l => l.Contains("│ gold ", StringComparison.Ordinal) && l.Contains("50.0%", StringComparison.Ordinal), "the gold rule fired for 5 of 10 leads");
    }

    [Fact]
    public void The_window_decides_who_is_positive()
    {
        var r = Cli.Run("backtest", "--model", _dir.Write("model.json", Model), "--events", _dir.Write("m.jsonl", Messages()), "--as-of", "2026-10-01T00:00:00Z", "--window-days", "120", "--json");
        r.ExitCode.Should().Be(0, r.Stderr);
        r.Json.GetProperty("positives").GetInt32().Should().Be(5, "L09 converts at T+100d, inside a 120-day window");
    }

    [Fact]
    public void Metrics_agree_with_a_brute_force_pair_count_on_random_scores()
    {
        var rng = new Random(7);
        for (int round = 0; round < 20; round++)
        {
            int n = 5 + rng.Next(40);
            var scores = Enumerable.Range(0, n).Select(_ => (double)rng.Next(6)).ToArray();
            var labels = Enumerable.Range(0, n).Select(_ => rng.NextDouble() < 0.4).ToArray();
            if (labels.All(l => l) || labels.All(l => !l))
            {
                continue;
            }

            double wins = 0, pairs = 0;
            for (int i = 0; i < n; i++)
            {
                for (int k = 0; k < n; k++)
                {
                    if (labels[i] && !labels[k])
                    {
                        pairs++;
                        wins += scores[i] > scores[k] ? 1 : scores[i] == scores[k] ? 0.5 : 0;
                    }
                }
            }

            Metrics.Auc(scores, labels).Should().BeApproximately(wins / pairs, 1e-12);
        }
    }

    public void Dispose() => _dir.Dispose();
}
