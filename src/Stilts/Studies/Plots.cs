namespace Stilts.Studies;

/// <summary>The report's figures, drawn with ScottPlot and saved as PNG and SVG (the SVG is inlined in the HTML).</summary>
static class Plots
{
    public sealed record Figure(string Png, string SvgPath, string Svg)
    {
        public IEnumerable<string> Files => [Png, SvgPath];
    }

    const int Width = 900, Height = 500;

    public static Figure DeltaHeatmap(StudyFile study, string model, IReadOnlyList<ReportCell> cells, string dir)
    {
        var regimes = study.Regimes.Where(r => r.Kind != RegimeKind.Baseline).Select(r => r.Name).ToList();
        var data = new double[regimes.Count, study.Targets.Count];
        for (int i = 0; i < regimes.Count; i++)
            for (int j = 0; j < study.Targets.Count; j++)
            {
                var cell = cells.FirstOrDefault(c => c.Model == model && c.Regime == regimes[i] && c.Target == study.Targets[j]);
                data[i, j] = cell?.VsBaseline?.MeanDelta ?? double.NaN;
            }
        var plot = new ScottPlot.Plot();
        var heat = plot.Add.Heatmap(data);
        heat.Colormap = new ScottPlot.Colormaps.MellowRainbow();
        plot.Add.ColorBar(heat);
        for (int i = 0; i < regimes.Count; i++)
            for (int j = 0; j < study.Targets.Count; j++)
                if (!double.IsNaN(data[i, j]))
                {
                    var label = plot.Add.Text(data[i, j].ToString("+0.0;-0.0", System.Globalization.CultureInfo.InvariantCulture), j, regimes.Count - 1 - i);
                    label.LabelAlignment = ScottPlot.Alignment.MiddleCenter;
                }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, study.Targets.Count).Select(x => (double)x).ToArray(), study.Targets.ToArray());
        plot.Axes.Left.SetTicks(Enumerable.Range(0, regimes.Count).Select(y => (double)(regimes.Count - 1 - y)).ToArray(), regimes.ToArray());
        plot.Title($"{model}: delta vs baseline (points)");
        return Save(plot, dir, $"heatmap-{model}");
    }

    public static Figure LanguageBars(StudyFile study, string target, Dictionary<(string, string, string, string, int), double> scores, string dir)
    {
        var languages = scores.Keys.Where(k => k.Item3 == target).Select(k => k.Item4).Distinct().OrderBy(l => l, StringComparer.Ordinal).ToList();
        var series = study.Models.SelectMany(m => study.Regimes.Select(r => (m.Name, Regime: r.Name))).ToList();
        var plot = new ScottPlot.Plot();
        var palette = new ScottPlot.Palettes.Category10();
        double width = 0.8 / Math.Max(series.Count, 1);
        for (int s = 0; s < series.Count; s++)
        {
            var bars = new List<ScottPlot.Bar>();
            for (int l = 0; l < languages.Count; l++)
            {
                var v = study.Seeds.Where(seed => scores.ContainsKey((series[s].Name, series[s].Regime, target, languages[l], seed)))
                    .Select(seed => scores[(series[s].Name, series[s].Regime, target, languages[l], seed)]).ToList();
                if (v.Count == 0) continue;
                bars.Add(new ScottPlot.Bar { Position = l + (s - (series.Count - 1) / 2.0) * width, Value = v.Average(), Size = width * 0.95, FillColor = palette.GetColor(s) });
            }
            var plottable = plot.Add.Bars(bars);
            plottable.LegendText = study.Models.Count > 1 ? $"{series[s].Name}/{series[s].Regime}" : series[s].Regime;
        }
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, languages.Count).Select(x => (double)x).ToArray(), languages.ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.ShowLegend();
        plot.YLabel("score");
        plot.Title($"{target}: per-language score (mean over seeds)");
        return Save(plot, dir, $"languages-{target}");
    }

    static Figure Save(ScottPlot.Plot plot, string dir, string name)
    {
        string png = Path.Combine(dir, name + ".png"), svg = Path.Combine(dir, name + ".svg");
        byte[] pngBytes = plot.GetImageBytes(Width, Height, ScottPlot.ImageFormat.Png);
        AtomicFile.Write(png, s => s.Write(pngBytes));
        string svgText = plot.GetSvgXml(Width, Height);
        AtomicFile.WriteAllText(svg, svgText);
        return new Figure(png, svg, svgText);
    }
}
