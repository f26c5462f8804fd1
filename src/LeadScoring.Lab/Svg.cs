using System.Globalization;
using System.Text;

namespace LeadScoring.Lab;

/// <summary>The report's charts, drawn as plain inline SVG (simpler than a plotting library for two chart kinds, and byte-for-byte deterministic).</summary>
internal static class Svg
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static string N(double v) => v.ToString("0.#", Inv);

    /// <summary>ROC curves with the diagonal of a coin flip.</summary>
    public static string Roc(string id, IReadOnlyList<(string Label, IReadOnlyList<(double Fpr, double Tpr)> Points, string Color)> curves)
    {
        const double left = 44, top = 28, size = 300;
        var s = new StringBuilder();
        s.Append("<svg class=\"chart\" data-chart=\"roc\" id=\"").Append(LabReport.Enc(id)).Append("\" xmlns=\"http://www.w3.org/2000/svg\" width=\"380\" height=\"380\" viewBox=\"0 0 380 380\" role=\"img\" aria-label=\"ROC curve\">");
        s.Append("<text x=\"").Append(N(left)).Append("\" y=\"16\" style=\"font-size:13px;font-weight:600\">ROC curve</text>");
        s.Append("<rect x=\"").Append(N(left)).Append("\" y=\"").Append(N(top)).Append("\" width=\"").Append(N(size)).Append("\" height=\"").Append(N(size)).Append("\" fill=\"#fafbfc\" stroke=\"#cbd2d9\"/>");
        for (int k = 0; k <= 4; k++)
        {
            double v = k / 4.0;
            s.Append("<text x=\"").Append(N(left + (v * size))).Append("\" y=\"").Append(N(top + size + 14)).Append("\" text-anchor=\"middle\">").Append(v.ToString("0.##", Inv)).Append("</text>");
            s.Append("<text x=\"").Append(N(left - 6)).Append("\" y=\"").Append(N(top + size - (v * size) + 4)).Append("\" text-anchor=\"end\">").Append(v.ToString("0.##", Inv)).Append("</text>");
        }

        s.Append("<line x1=\"").Append(N(left)).Append("\" y1=\"").Append(N(top + size)).Append("\" x2=\"").Append(N(left + size)).Append("\" y2=\"").Append(N(top)).Append("\" stroke=\"#cbd2d9\" stroke-dasharray=\"4 4\"/>");
        int legend = 0;
        foreach (var (label, points, color) in curves)
        {
            int step = Math.Max(1, points.Count / 400);
            s.Append("<polyline fill=\"none\" stroke=\"").Append(color).Append("\" stroke-width=\"2\" points=\"");
            for (int i = 0; i < points.Count; i++)
            {
                if (i % step == 0 || i == points.Count - 1)
                {
                    s.Append(N(left + (points[i].Fpr * size))).Append(',').Append(N(top + size - (points[i].Tpr * size))).Append(' ');
                }
            }

            s.Append("\"/>");
            s.Append("<rect x=\"").Append(N(left + size - 90)).Append("\" y=\"").Append(N(top + size - 40 + (legend * 16))).Append("\" width=\"10\" height=\"10\" fill=\"").Append(color).Append("\"/>");
            s.Append("<text x=\"").Append(N(left + size - 75)).Append("\" y=\"").Append(N(top + size - 31 + (legend * 16))).Append("\">").Append(LabReport.Enc(label)).Append("</text>");
            legend++;
        }

        s.Append("<text x=\"").Append(N(left + (size / 2))).Append("\" y=\"376\" text-anchor=\"middle\">x: non-converting leads flagged · y: converting leads found</text>");
        s.Append("</svg>");
        return s.ToString();
    }

    /// <summary>A bar chart with an optional reference line (the average).</summary>
    public static string Bars(string id, string title, IReadOnlyList<(string Label, double Value)> bars, double? reference, string format)
    {
        const double left = 48, top = 28, width = 420, height = 260;
        var s = new StringBuilder();
        s.Append("<svg class=\"chart\" data-chart=\"bars\" id=\"").Append(LabReport.Enc(id)).Append("\" xmlns=\"http://www.w3.org/2000/svg\" width=\"500\" height=\"330\" viewBox=\"0 0 500 330\" role=\"img\" aria-label=\"").Append(LabReport.Enc(title)).Append("\">");
        s.Append("<text x=\"").Append(N(left)).Append("\" y=\"16\" style=\"font-size:13px;font-weight:600\">").Append(LabReport.Enc(title)).Append("</text>");
        double max = bars.Select(b => double.IsNaN(b.Value) ? 0 : b.Value).Append(reference ?? 0).DefaultIfEmpty(0).Max();
        max = max <= 0 ? 1 : max * 1.15;
        s.Append("<line x1=\"").Append(N(left)).Append("\" y1=\"").Append(N(top + height)).Append("\" x2=\"").Append(N(left + width)).Append("\" y2=\"").Append(N(top + height)).Append("\" stroke=\"#9aa5b1\"/>");
        for (int k = 0; k <= 4; k++)
        {
            double v = max * k / 4;
            double y = top + height - (v / max * height);
            s.Append("<line x1=\"").Append(N(left)).Append("\" y1=\"").Append(N(y)).Append("\" x2=\"").Append(N(left + width)).Append("\" y2=\"").Append(N(y)).Append("\" stroke=\"#eef1f4\"/>");
            s.Append("<text x=\"").Append(N(left - 6)).Append("\" y=\"").Append(N(y + 4)).Append("\" text-anchor=\"end\">").Append(Format(v, format)).Append("</text>");
        }

        double slot = bars.Count == 0 ? width : width / bars.Count;
        for (int i = 0; i < bars.Count; i++)
        {
            double v = double.IsNaN(bars[i].Value) ? 0 : bars[i].Value;
            double bh = v / max * height;
            double x = left + (i * slot) + (slot * 0.15);
            s.Append("<rect class=\"bar\" x=\"").Append(N(x)).Append("\" y=\"").Append(N(top + height - bh)).Append("\" width=\"").Append(N(slot * 0.7)).Append("\" height=\"").Append(N(bh)).Append("\" fill=\"#1769aa\"><title>")
                .Append(LabReport.Enc(bars[i].Label)).Append(": ").Append(Format(bars[i].Value, format)).Append("</title></rect>");
            s.Append("<text x=\"").Append(N(x + (slot * 0.35))).Append("\" y=\"").Append(N(top + height - bh - 4)).Append("\" text-anchor=\"middle\">").Append(Format(bars[i].Value, format)).Append("</text>");
            string label = bars[i].Label.Length > 14 ? bars[i].Label[..13] + "…" : bars[i].Label;
            s.Append("<text x=\"").Append(N(x + (slot * 0.35))).Append("\" y=\"").Append(N(top + height + 14)).Append("\" text-anchor=\"middle\">").Append(LabReport.Enc(label)).Append("</text>");
        }

        if (reference is { } r && !double.IsNaN(r))
        {
            double y = top + height - (r / max * height);
            s.Append("<line x1=\"").Append(N(left)).Append("\" y1=\"").Append(N(y)).Append("\" x2=\"").Append(N(left + width)).Append("\" y2=\"").Append(N(y)).Append("\" stroke=\"#d64545\" stroke-dasharray=\"5 3\"/>");
            s.Append("<text x=\"").Append(N(left + width)).Append("\" y=\"").Append(N(y - 4)).Append("\" text-anchor=\"end\" style=\"fill:#d64545\">average ").Append(Format(r, format)).Append("</text>");
        }

        s.Append("</svg>");
        return s.ToString();
    }

    private static string Format(double v, string format) =>
        double.IsNaN(v) ? "—" : format == "0%" ? v.ToString("0.#%", Inv) : format == "0.0x" ? v.ToString("0.0", Inv) + "x" : v.ToString(format, Inv);
}
