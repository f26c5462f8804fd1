using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace LeadScoring.Lab.Tests;

/// <summary>The HTML reports, opened in a real headless Chromium.</summary>
public sealed partial class ReportTests : IDisposable
{
    private const string AsOf = "2026-10-15T00:00:00Z";
    private readonly TempDir _dir = new();

    [GeneratedRegex("<svg class=\"chart\"")]
    private static partial Regex ChartTag();

    [GeneratedRegex("<body[^>]*>")]
    private static partial Regex BodyTag();

    [GeneratedRegex("data-charts=\"(\\d+)\"")]
    private static partial Regex ChartCount();

    private string Backtest()
    {
        string report = _dir.File("backtest.html");
        var r = Cli.Run("backtest", "--model", Sample.Model, "--events", Sample.Messages, "--as-of", AsOf, "--outcome", "Sales Accepted", "--window-days", "60", "--report", report);
        r.ExitCode.Should().Be(0, r.Stderr);
        return report;
    }

    private static void SelfContained(string html)
    {
        string text = File.ReadAllText(html);
        text.Replace("xmlns=\"http://www.w3.org/2000/svg\"", "", StringComparison.Ordinal).Should().NotContainAny("http://", "https://", " src=", "<link", "@import");
    }

    private int LoadedCharts(string html)
    {
        string dom = Chromium.DumpDom(html, _dir.File("profile-" + Path.GetFileNameWithoutExtension(html)));
        var body = BodyTag().Match(dom);
        body.Success.Should().BeTrue("Chromium printed the DOM");
        body.Value.Should().NotContain("data-error", "the report runs without a script error");
        var count = ChartCount().Match(dom);
        count.Success.Should().BeTrue("the load handler ran and counted the charts in the DOM");
        int charts = int.Parse(count.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        ChartTag().Matches(dom).Count.Should().Be(charts);
        dom.Contains("<polyline", StringComparison.Ordinal).Should().BeTrue("the ROC curve is drawn");
        dom.Contains("class=\"bar\"", StringComparison.Ordinal).Should().BeTrue("bars are drawn");
        return charts;
    }

    [Fact]
    public void The_backtest_report_loads_in_Chromium_with_its_charts_and_its_screenshot_is_not_blank()
    {
        string html = Backtest();
        SelfContained(html);
        LoadedCharts(html).Should().BeGreaterThanOrEqualTo(4, "ROC, lift by decile, conversion by grade and by stage");
        File.ReadAllText(html).Should().Contain("senior-title", "the points table lists the rules");

        string png = _dir.File("backtest.png");
        Chromium.Screenshot(html, png, _dir.File("profile-shot"));
        var (width, height, pixels) = Chromium.DecodePng(File.ReadAllBytes(png));
        width.Should().Be(1280);
        height.Should().Be(1600);
        int background = pixels.GroupBy(p => p).OrderByDescending(g => g.Count()).First().Key;
        double inked = pixels.Count(p => p != background) / (double)pixels.Length;
        inked.Should().BeGreaterThan(0.10, "the page shows a header, cards and charts, not an empty page");
        pixels.Distinct().Count().Should().BeGreaterThan(50);
        pixels.Count(p => p == 0x1769AA).Should().BeGreaterThan(10_000, "the header and the chart bars are drawn in the report's blue");
    }

    [Fact]
    public void The_diff_report_loads_with_both_ROC_curves()
    {
        var doc = JsonNode.Parse(File.ReadAllText(Sample.Model))!.AsObject();
        doc.Remove("$schema");
        doc["rules"]!.AsArray().Single(r => (string?)r!["id"] == "webinar")!["points"] = 40;
        string b = _dir.Write("b.json", doc.ToJsonString());
        string html = _dir.File("diff.html");
        var r = Cli.Run("diff", "--model", Sample.Model, "--against", b, "--events", Sample.Messages, "--as-of", AsOf, "--outcome", "Sales Accepted", "--report", html);
        r.ExitCode.Should().Be(0, r.Stderr);
        SelfContained(html);
        LoadedCharts(html).Should().BeGreaterThanOrEqualTo(2);
        File.ReadAllText(html).Should().Contain("Points moved per rule").And.Contain("webinar");
    }

    [Fact]
    public void The_same_input_gives_the_same_report_bytes()
    {
        string first = File.ReadAllText(Backtest());
        string second = File.ReadAllText(Backtest());
        second.Should().Be(first);
    }

    public void Dispose() => _dir.Dispose();
}
