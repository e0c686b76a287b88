using System.Globalization;
using System.Net;
using System.Text;

namespace Stilts.Studies;

/// <summary>One cell of the paper's table: a (model, regime, target) over seeds, and its delta vs the baseline.</summary>
public sealed record ReportCell(string Model, string Regime, string Target, MeanSd Score, PairedComparison? VsBaseline);

/// <summary>What a report was built from and where its files went.</summary>
public sealed record ReportFiles(string Markdown, string Html, IReadOnlyList<string> Csv, IReadOnlyList<string> Plots);

/// <summary>
/// Builds the study report from the results store: the paper's table (mean +- sd over seeds, delta vs baseline
/// with a paired test), a delta heatmap, per-language and resource-level views, and the comparison sections the
/// study's design allows (model size, multilingual vs English-only, sequential vs joint, inference). Writes
/// Markdown, CSV, PNG + SVG plots and one self-contained HTML page.
/// Scores come from metric rows named "score" (the task's major metric in percent; QA = (EM + F1) / 2):
/// language "" is the task-level score, other rows are per language.
/// </summary>
public static class StudyReport
{
    const string Score = "score";
    static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static ReportFiles Write(StudyFile study, ResultsStore store, string outputDir)
    {
        Directory.CreateDirectory(outputDir);
        var runs = store.Runs(study.Name).Where(r => r.Status == RunStatus.Done && r.Kind == nameof(PlannedRunKind.Target)).ToList();
        var metrics = store.Metrics(study.Name).Where(m => m.Metric == Score).ToLookup(m => m.RunKey);
        var baseline = study.Regimes.FirstOrDefault(r => r.Kind == RegimeKind.Baseline)?.Name;

        // (model, regime, target, seed) -> task score; (model, regime, target, language, seed) -> language score
        var taskScore = new Dictionary<(string, string, string, int), double>();
        var langScore = new Dictionary<(string, string, string, string, int), double>();
        foreach (var run in runs)
            foreach (var m in metrics[run.Key])
                if (m.Language == "") taskScore[(run.Model, run.Regime, run.Target, run.Seed)] = m.Value;
                else langScore[(run.Model, run.Regime, run.Target, m.Language, run.Seed)] = m.Value;

        var md = new StringBuilder();
        var html = new StringBuilder();
        var csvFiles = new List<string>();
        var plots = new List<string>();
        md.AppendLine($"# Study report: {study.Name}\n");
        md.AppendLine($"{runs.Count} finished target runs; seeds: {string.Join(", ", study.Seeds)}. Cells are mean +- sd over seeds; " +
                      "deltas are paired over seeds against the baseline, with a 95% bootstrap interval; † marks a delta that is not significant (paired t-test, p >= 0.05).\n");

        var cells = new List<ReportCell>();
        foreach (var model in study.Models)
        {
            var table = MainTable(study, model.Name, baseline, taskScore, cells);
            Section(md, html, $"Main table — {model.Name}", table);
            csvFiles.Add(WriteCsv(outputDir, $"main-{model.Name}.csv", table));
            if (baseline != null && study.Regimes.Count > 1)
            {
                var heat = Plots.DeltaHeatmap(study, model.Name, cells, outputDir);
                plots.AddRange(heat.Files);
                Figure(md, html, $"Delta vs baseline — {model.Name}", heat);
            }
        }

        foreach (var target in study.Targets)
        {
            var table = LanguageTable(study, target, langScore);
            if (table.Rows.Count == 0) continue;
            Section(md, html, $"Per language — {target}", table);
            csvFiles.Add(WriteCsv(outputDir, $"languages-{target}.csv", table));
            var fig = Plots.LanguageBars(study, target, langScore, outputDir);
            plots.AddRange(fig.Files);
            Figure(md, html, $"Per language — {target}", fig);
            if (baseline != null)
            {
                var levels = ResourceTable(study, target, baseline, langScore);
                Section(md, html, $"By resource level — {target}", levels);
                csvFiles.Add(WriteCsv(outputDir, $"resource-levels-{target}.csv", levels));
            }
        }

        if (baseline != null)
        {
            if (LowResourceSummary(study, baseline, langScore) is { } low) Section(md, html, "Low-resource summary", low);
            if (ModelSizeTable(study, baseline, taskScore) is { } size) Section(md, html, "Model size", size);
            if (MultilingualTable(study, baseline, taskScore) is { } multi) Section(md, html, "Multilingual vs English-only pretraining", multi);
        }
        if (SequentialVsJoint(study, taskScore) is { } sj) Section(md, html, "Sequential vs joint multi-task", sj);
        var inference = store.Inference(study.Name);
        if (inference.Count > 0)
        {
            var runByKey = store.Runs(study.Name).ToDictionary(r => r.Key);
            var all = InferenceTable(inference, runByKey);
            Section(md, html, "Inference latency and throughput", all);
            csvFiles.Add(WriteCsv(outputDir, "inference.csv", all));
            var latency = InferenceCells(study, inference, runByKey);
            if (baseline != null && RegimeLatencyTable(study, baseline, latency) is { } vs)
            {
                Section(md, html, "Inference: intermediate-trained vs directly fine-tuned", vs);
                csvFiles.Add(WriteCsv(outputDir, "inference-regimes.csv", vs));
            }
            if (SizeLadder(study, latency) is { } ladder)
            {
                Section(md, html, "Inference: model-size ladder", ladder);
                csvFiles.Add(WriteCsv(outputDir, "inference-sizes.csv", ladder));
            }
        }

        var taskRows = store.TaskInference(study.Name);
        if (taskRows.Count > 0 && baseline != null)
        {
            var runByKey = store.Runs(study.Name).ToDictionary(r => r.Key);
            if (TaskDataRegimeTable(study, baseline, taskRows, runByKey) is { } real)
            {
                Section(md, html, "Inference on task data: intermediate-trained vs directly fine-tuned", real);
                csvFiles.Add(WriteCsv(outputDir, "inference-task-regimes.csv", real));
            }
        }

        string mdPath = Path.Combine(outputDir, "report.md"), htmlPath = Path.Combine(outputDir, "report.html");
        AtomicFile.WriteAllText(mdPath, md.ToString());
        AtomicFile.WriteAllText(htmlPath, HtmlPage(study.Name, html.ToString()));
        return new ReportFiles(mdPath, htmlPath, csvFiles, plots);
    }

    /// <summary>A titled table: header row, body rows (all strings, already formatted).</summary>
    public sealed record Table(IReadOnlyList<string> Header, List<IReadOnlyList<string>> Rows);

    static Table MainTable(StudyFile study, string model, string? baseline, Dictionary<(string, string, string, int), double> scores, List<ReportCell> cells)
    {
        var header = new List<string> { "regime" };
        header.AddRange(study.Targets);
        header.Add("avg");
        var table = new Table(header, []);
        var best = new Dictionary<string, (string Regime, double Mean)>();
        foreach (var regime in study.Regimes)
        {
            var row = new List<string> { regime.Name };
            var averages = new List<double>();
            foreach (var target in study.Targets)
            {
                var values = study.Seeds.Where(s => scores.ContainsKey((model, regime.Name, target, s))).ToList();
                if (values.Count == 0) { row.Add("—"); continue; }
                var summary = Statistics.Summarize(values.Select(s => scores[(model, regime.Name, target, s)]).ToList());
                PairedComparison? cmp = null;
                if (baseline != null && regime.Name != baseline)
                {
                    var paired = values.Where(s => scores.ContainsKey((model, baseline, target, s))).ToList();
                    if (paired.Count > 0)
                        cmp = Statistics.Paired(paired.Select(s => scores[(model, regime.Name, target, s)]).ToList(),
                                                paired.Select(s => scores[(model, baseline, target, s)]).ToList());
                }
                cells.Add(new ReportCell(model, regime.Name, target, summary, cmp));
                row.Add(FormatCell(summary, cmp));
                averages.Add(summary.Mean);
                if (!best.TryGetValue(target, out var b) || summary.Mean > b.Mean) best[target] = (regime.Name, summary.Mean);
            }
            row.Add(averages.Count == study.Targets.Count ? F(averages.Average()) : "—");
            table.Rows.Add(row);
        }
        var bestRow = new List<string> { "best per target" };
        bestRow.AddRange(study.Targets.Select(t => best.TryGetValue(t, out var b) ? $"{F(b.Mean)} ({b.Regime})" : "—"));
        bestRow.Add(best.Count == study.Targets.Count ? F(best.Values.Average(b => b.Mean)) : "—");
        table.Rows.Add(bestRow);
        return table;
    }

    static string FormatCell(MeanSd s, PairedComparison? cmp)
    {
        string cell = $"{F(s.Mean)} ± {F(s.Sd)}";
        if (cmp == null) return cell;
        string sign = cmp.MeanDelta >= 0 ? "+" : "";
        return $"{cell} ({sign}{F(cmp.MeanDelta)}{(cmp.Significant ? "" : "†")}, CI {F(cmp.Bootstrap.Low)}..{F(cmp.Bootstrap.High)})";
    }

    static Table LanguageTable(StudyFile study, string target, Dictionary<(string, string, string, string, int), double> scores)
    {
        var languages = scores.Keys.Where(k => k.Item3 == target).Select(k => k.Item4).Distinct().OrderBy(l => l, StringComparer.Ordinal).ToList();
        var header = new List<string> { "language", "resource" };
        var columns = study.Models.SelectMany(m => study.Regimes.Select(r => (Model: m.Name, Regime: r.Name))).ToList();
        header.AddRange(columns.Select(c => study.Models.Count > 1 ? $"{c.Model}/{c.Regime}" : c.Regime));
        var table = new Table(header, []);
        foreach (var lang in languages)
        {
            var row = new List<string> { lang, LanguageResources.Level(lang).ToString() };
            foreach (var (model, regime) in columns)
            {
                var v = study.Seeds.Where(s => scores.ContainsKey((model, regime, target, lang, s))).Select(s => scores[(model, regime, target, lang, s)]).ToList();
                row.Add(v.Count == 0 ? "—" : F(v.Average()));
            }
            table.Rows.Add(row);
        }
        return table;
    }

    // Mean delta vs baseline per resource tier, paired over (language, seed) cells of that tier.
    static Table ResourceTable(StudyFile study, string target, string baseline, Dictionary<(string, string, string, string, int), double> scores)
    {
        var table = new Table(["model", "regime", "level", "languages", "mean delta", "95% CI", "significant"], []);
        foreach (var model in study.Models)
        foreach (var regime in study.Regimes.Where(r => r.Name != baseline))
        foreach (var level in Enum.GetValues<ResourceLevel>())
        {
            var pairs = scores.Keys.Where(k => k.Item1 == model.Name && k.Item2 == regime.Name && k.Item3 == target && LanguageResources.Level(k.Item4) == level
                                               && scores.ContainsKey((model.Name, baseline, target, k.Item4, k.Item5))).ToList();
            if (pairs.Count == 0) continue;
            var cmp = Statistics.Paired(pairs.Select(k => scores[k]).ToList(), pairs.Select(k => scores[(k.Item1, baseline, k.Item3, k.Item4, k.Item5)]).ToList());
            table.Rows.Add([model.Name, regime.Name, level.ToString(), pairs.Select(k => k.Item4).Distinct().Count().ToString(Inv),
                Signed(cmp.MeanDelta), $"{F(cmp.Bootstrap.Low)}..{F(cmp.Bootstrap.High)}", cmp.Significant ? "yes" : "no †"]);
        }
        return table;
    }

    static Table? LowResourceSummary(StudyFile study, string baseline, Dictionary<(string, string, string, string, int), double> scores)
    {
        var table = new Table(["model", "regime", "low-resource cells", "mean delta (low)", "mean delta (high)", "significant (low)"], []);
        foreach (var model in study.Models)
        foreach (var regime in study.Regimes.Where(r => r.Name != baseline))
        {
            List<(string, string, string, string, int)> Cells(ResourceLevel level) => scores.Keys
                .Where(k => k.Item1 == model.Name && k.Item2 == regime.Name && LanguageResources.Level(k.Item4) == level && scores.ContainsKey((model.Name, baseline, k.Item3, k.Item4, k.Item5))).ToList();
            var low = Cells(ResourceLevel.Low);
            if (low.Count == 0) continue;
            var high = Cells(ResourceLevel.High);
            var cl = Statistics.Paired(low.Select(k => scores[k]).ToList(), low.Select(k => scores[(k.Item1, baseline, k.Item3, k.Item4, k.Item5)]).ToList());
            string highDelta = high.Count == 0 ? "—" : Signed(high.Average(k => scores[k] - scores[(k.Item1, baseline, k.Item3, k.Item4, k.Item5)]));
            table.Rows.Add([model.Name, regime.Name, low.Count.ToString(Inv), Signed(cl.MeanDelta), highDelta, cl.Significant ? "yes" : "no †"]);
        }
        return table.Rows.Count == 0 ? null : table;
    }

    // Gains over the baseline per model, over every (regime, target, seed) cell; compares sizes when several exist.
    static Table? ModelSizeTable(StudyFile study, string baseline, Dictionary<(string, string, string, int), double> scores)
    {
        if (study.Models.Select(m => m.Size).Where(s => s != null).Distinct().Count() < 2) return null;
        return GainTable(study, baseline, scores, m => m.Size ?? "?", "size");
    }

    static Table? MultilingualTable(StudyFile study, string baseline, Dictionary<(string, string, string, int), double> scores)
    {
        if (study.Models.Select(m => m.Multilingual).Distinct().Count() < 2) return null;
        return GainTable(study, baseline, scores, m => m.Multilingual ? "multilingual" : "English-only", "pretraining");
    }

    static Table GainTable(StudyFile study, string baseline, Dictionary<(string, string, string, int), double> scores, Func<StudyModel, string> group, string groupName)
    {
        var table = new Table(["model", groupName, "baseline avg", "cells", "mean gain", "sd of gain", "95% CI", "significant"], []);
        foreach (var model in study.Models)
        {
            var cells = scores.Keys.Where(k => k.Item1 == model.Name && k.Item2 != baseline && scores.ContainsKey((model.Name, baseline, k.Item3, k.Item4))).ToList();
            var baseScores = scores.Where(kv => kv.Key.Item1 == model.Name && kv.Key.Item2 == baseline).Select(kv => kv.Value).ToList();
            if (cells.Count == 0) continue;
            var cmp = Statistics.Paired(cells.Select(k => scores[k]).ToList(), cells.Select(k => scores[(k.Item1, baseline, k.Item3, k.Item4)]).ToList());
            table.Rows.Add([model.Name, group(model), baseScores.Count == 0 ? "—" : F(baseScores.Average()), cells.Count.ToString(Inv),
                Signed(cmp.MeanDelta), F(cmp.SdDelta), $"{F(cmp.Bootstrap.Low)}..{F(cmp.Bootstrap.High)}", cmp.Significant ? "yes" : "no †"]);
        }
        return table;
    }

    // Sequential and joint regimes over the same task set, paired over (target, seed).
    static Table? SequentialVsJoint(StudyFile study, Dictionary<(string, string, string, int), double> scores)
    {
        var table = new Table(["model", "tasks", "sequential", "joint", "mean (seq - joint)", "95% CI", "significant"], []);
        foreach (var seq in study.Regimes.Where(r => r.Kind == RegimeKind.Sequential))
        foreach (var joint in study.Regimes.Where(r => r.Kind == RegimeKind.Joint && r.Tasks.OrderBy(t => t).SequenceEqual(seq.Tasks.OrderBy(t => t))))
        foreach (var model in study.Models)
        {
            var keys = scores.Keys.Where(k => k.Item1 == model.Name && k.Item2 == seq.Name && scores.ContainsKey((model.Name, joint.Name, k.Item3, k.Item4))).ToList();
            if (keys.Count == 0) continue;
            var cmp = Statistics.Paired(keys.Select(k => scores[k]).ToList(), keys.Select(k => scores[(k.Item1, joint.Name, k.Item3, k.Item4)]).ToList());
            table.Rows.Add([model.Name, string.Join("+", seq.Tasks), seq.Name, joint.Name, Signed(cmp.MeanDelta),
                $"{F(cmp.Bootstrap.Low)}..{F(cmp.Bootstrap.High)}", cmp.Significant ? "yes" : "no †"]);
        }
        return table.Rows.Count == 0 ? null : table;
    }

    static Table InferenceTable(IReadOnlyList<InferenceRow> rows, IReadOnlyDictionary<string, RunRecord> runs)
    {
        var table = new Table(["model", "regime", "run", "task", "device", "batch", "seq len", "gen len", "p50 ms", "p95 ms", "p99 ms", "examples/s", "tokens/s", "peak MB"], []);
        foreach (var r in rows)
        {
            string regime = r.RunKey != null && runs.TryGetValue(r.RunKey, out var run) ? run.Regime : "";
            table.Rows.Add([r.Model, regime, r.RunKey ?? "", r.Task, r.Device, r.BatchSize.ToString(Inv), r.SeqLen.ToString(Inv), r.GenerationLength.ToString(Inv),
                F(r.P50Ms), F(r.P95Ms), F(r.P99Ms), F(r.ExamplesPerSecond), F(r.TokensPerSecond), F(r.PeakMemoryMb)]);
        }
        return table;
    }

    /// <summary>One measured setting of a (model, regime, target): means over its runs' rows (seeds, repeats).</summary>
    sealed record LatencyCell(string Model, string Regime, string Target, LatencySetting Setting, int Rows,
        double P50Ms, double P95Ms, double P99Ms, double ExamplesPerSecond, double TokensPerSecond);

    sealed record LatencySetting(string Device, int BatchSize, int SeqLen, int GenerationLength);

    // Rows of the study's target runs, grouped by what they measured; rows of other runs (or none) are left out.
    static List<LatencyCell> InferenceCells(StudyFile study, IReadOnlyList<InferenceRow> rows, IReadOnlyDictionary<string, RunRecord> runs) =>
        rows.Where(r => r.RunKey != null && runs.TryGetValue(r.RunKey, out var run) && run.Kind == nameof(PlannedRunKind.Target))
            .GroupBy(r => (Run: runs[r.RunKey!], Setting: new LatencySetting(r.Device, r.BatchSize, r.SeqLen, r.GenerationLength)))
            .GroupBy(g => (g.Key.Run.Model, g.Key.Run.Regime, g.Key.Run.Target, g.Key.Setting), g => g.AsEnumerable())
            .Select(g =>
            {
                var all = g.SelectMany(x => x).ToList();
                return new LatencyCell(g.Key.Model, g.Key.Regime, g.Key.Target, g.Key.Setting, all.Count, all.Average(r => r.P50Ms), all.Average(r => r.P95Ms),
                    all.Average(r => r.P99Ms), all.Average(r => r.ExamplesPerSecond), all.Average(r => r.TokensPerSecond));
            })
            .OrderBy(c => study.Models.ToList().FindIndex(m => m.Name == c.Model)).ThenBy(c => c.Target, StringComparer.Ordinal)
            .ThenBy(c => c.Setting.Device, StringComparer.Ordinal).ThenBy(c => c.Setting.BatchSize).ThenBy(c => c.Setting.SeqLen).ThenBy(c => c.Setting.GenerationLength)
            .ThenBy(c => study.Regimes.ToList().FindIndex(r => r.Name == c.Regime))
            .ToList();

    // Each regime's checkpoints against the baseline's (direct fine-tuning) of the same model, target and setting.
    static Table? RegimeLatencyTable(StudyFile study, string baseline, List<LatencyCell> cells)
    {
        if (!cells.Any(c => c.Regime != baseline)) return null;
        var table = new Table(["model", "size", "regime", "target", "device", "batch", "seq len", "gen len", "rows", "p50 ms", "p95 ms", "p99 ms",
            "examples/s", "tokens/s", "p50 / baseline", "examples/s / baseline"], []);
        var base_ = cells.Where(c => c.Regime == baseline).ToDictionary(c => (c.Model, c.Target, c.Setting));
        foreach (var c in cells)
        {
            base_.TryGetValue((c.Model, c.Target, c.Setting), out var b);
            table.Rows.Add([c.Model, study.Models.FirstOrDefault(m => m.Name == c.Model)?.Size ?? "", c.Regime, c.Target, c.Setting.Device,
                c.Setting.BatchSize.ToString(Inv), c.Setting.SeqLen.ToString(Inv), c.Setting.GenerationLength.ToString(Inv), c.Rows.ToString(Inv),
                F(c.P50Ms), F(c.P95Ms), F(c.P99Ms), F(c.ExamplesPerSecond), F(c.TokensPerSecond),
                b == null ? "—" : Ratio(c.P50Ms / b.P50Ms), b == null ? "—" : Ratio(c.ExamplesPerSecond / b.ExamplesPerSecond)]);
        }
        return table;
    }

    /// <summary>
    /// Real work on the target's own examples (stilts bench inference --data, or the inference block's data:): what
    /// fixed-length timing cannot show, since a fine-tuned mT5 decides how many tokens it generates before eos. Means
    /// over each (model, regime, target, language, setting)'s rows (seeds), against the baseline of the same model.
    /// </summary>
    static Table? TaskDataRegimeTable(StudyFile study, string baseline, IReadOnlyList<TaskInferenceRow> rows, IReadOnlyDictionary<string, RunRecord> runs)
    {
        var cells = rows.Where(r => r.RunKey != null && runs.TryGetValue(r.RunKey, out var run) && run.Kind == nameof(PlannedRunKind.Target))
            .GroupBy(r => (runs[r.RunKey!].Model, runs[r.RunKey!].Regime, Target: runs[r.RunKey!].Target ?? r.Task, r.Result.Language, r.Device,
                r.Result.BatchSize, Call: r.Result.Call.ToString(), r.Result.MaxNewTokens))
            .Select(g => (g.Key, Rows: g.Count(), P50: g.Average(r => r.Result.P50Ms), Examples: g.Average(r => r.Result.ExamplesPerSecond),
                GenLen: g.Average(r => r.Result.MeanGeneratedLength), InLen: g.Average(r => r.Result.MeanInputLength)))
            .OrderBy(c => study.Models.ToList().FindIndex(m => m.Name == c.Key.Model)).ThenBy(c => c.Key.Target, StringComparer.Ordinal)
            .ThenBy(c => c.Key.Language, StringComparer.Ordinal).ThenBy(c => c.Key.BatchSize)
            .ThenBy(c => study.Regimes.ToList().FindIndex(r => r.Name == c.Key.Regime))
            .ToList();
        if (!cells.Any(c => c.Key.Regime != baseline)) return null;
        var base_ = cells.Where(c => c.Key.Regime == baseline).ToDictionary(c => c.Key with { Regime = baseline });
        var table = new Table(["model", "regime", "target", "language", "device", "batch", "call", "rows", "mean input", "mean generated",
            "p50 ms", "examples/s", "generated / baseline", "p50 / baseline", "examples/s / baseline"], []);
        foreach (var c in cells)
        {
            bool hasBase = base_.TryGetValue(c.Key with { Regime = baseline }, out var b);
            table.Rows.Add([c.Key.Model, c.Key.Regime, c.Key.Target, c.Key.Language, c.Key.Device, c.Key.BatchSize.ToString(Inv), c.Key.Call,
                c.Rows.ToString(Inv), F(c.InLen), F(c.GenLen), F(c.P50), F(c.Examples),
                hasBase ? Ratio(c.GenLen / b.GenLen) : "—", hasBase ? Ratio(c.P50 / b.P50) : "—", hasBase ? Ratio(c.Examples / b.Examples) : "—"]);
        }
        return table;
    }

    // Models of the study from fewest to most parameters, per regime and setting, against the smallest.
    static Table? SizeLadder(StudyFile study, List<LatencyCell> cells)
    {
        if (cells.Select(c => c.Model).Distinct().Count() < 2) return null;
        var parameters = study.Models.ToDictionary(m => m.Name, m => ParameterCount(m.Path));
        var order = study.Models.Select((m, i) => (m.Name, i)).OrderBy(x => parameters[x.Name] ?? long.MaxValue).ThenBy(x => x.i).Select(x => x.Name).ToList();
        var table = new Table(["regime", "target", "device", "batch", "seq len", "gen len", "model", "size", "parameters", "p50 ms", "examples/s", "tokens/s",
            "p50 / smallest", "examples/s / smallest"], []);
        foreach (var regime in study.Regimes)
        foreach (var group in cells.Where(c => c.Regime == regime.Name).GroupBy(c => (c.Target, c.Setting))
                     .OrderBy(g => g.Key.Target, StringComparer.Ordinal).ThenBy(g => g.Key.Setting.Device, StringComparer.Ordinal)
                     .ThenBy(g => g.Key.Setting.BatchSize).ThenBy(g => g.Key.Setting.SeqLen))
        {
            var ladder = group.OrderBy(c => order.IndexOf(c.Model)).ToList();
            var smallest = ladder[0];
            foreach (var c in ladder)
                table.Rows.Add([regime.Name, c.Target, c.Setting.Device, c.Setting.BatchSize.ToString(Inv), c.Setting.SeqLen.ToString(Inv),
                    c.Setting.GenerationLength.ToString(Inv), c.Model, study.Models.First(m => m.Name == c.Model).Size ?? "",
                    parameters[c.Model] is long p ? p.ToString(Inv) : "—", F(c.P50Ms), F(c.ExamplesPerSecond), F(c.TokensPerSecond),
                    Ratio(c.P50Ms / smallest.P50Ms), Ratio(c.ExamplesPerSecond / smallest.ExamplesPerSecond)]);
        }
        return table;
    }

    // From the pretrained checkpoint's config.json and weights (encoders and T5/mT5 alike); unknown when unreadable.
    static long? ParameterCount(string modelPath)
    {
        try { return Models.Pretrained.Info(modelPath).Parameters; }
        catch (Exception e) when (e is InvalidInputException or IOException) { return null; }
    }

    static string Ratio(double v) => double.IsNaN(v) || double.IsInfinity(v) ? "—" : v.ToString("0.000", Inv);

    static void Section(StringBuilder md, StringBuilder html, string title, Table table)
    {
        md.AppendLine($"## {title}\n");
        md.AppendLine("| " + string.Join(" | ", table.Header) + " |");
        md.AppendLine("|" + string.Concat(table.Header.Select(_ => " --- |")));
        foreach (var row in table.Rows) md.AppendLine("| " + string.Join(" | ", row) + " |");
        md.AppendLine();
        html.AppendLine($"<h2>{E(title)}</h2><table><thead><tr>{string.Concat(table.Header.Select(h => $"<th>{E(h)}</th>"))}</tr></thead><tbody>");
        foreach (var row in table.Rows) html.AppendLine($"<tr>{string.Concat(row.Select(c => $"<td>{E(c)}</td>"))}</tr>");
        html.AppendLine("</tbody></table>");
    }

    static void Figure(StringBuilder md, StringBuilder html, string title, Plots.Figure fig)
    {
        md.AppendLine($"![{title}]({Path.GetFileName(fig.Png)})\n");
        html.AppendLine($"<figure>{fig.Svg}<figcaption>{E(title)}</figcaption></figure>");
    }

    static string WriteCsv(string dir, string name, Table table)
    {
        string path = Path.Combine(dir, name);
        var sb = new StringBuilder();
        sb.AppendLine(string.Join(",", table.Header.Select(Csv)));
        foreach (var row in table.Rows) sb.AppendLine(string.Join(",", row.Select(Csv)));
        AtomicFile.WriteAllText(path, sb.ToString());
        return path;
    }

    static string HtmlPage(string title, string body) => $$"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>{{E(title)}} — Stilts report</title>
        <style>
        body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
        table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
        th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }
        th:first-child, td:first-child { text-align: left; }
        thead { background: #f0f0f0; }
        figure { margin: 1em 0; } figure svg { max-width: 100%; height: auto; } figure svg image { image-rendering: pixelated; }
        </style></head>
        <body><h1>Study report: {{E(title)}}</h1>
        <p>Cells: mean ± sd over seeds; deltas paired over seeds against the baseline with a 95% bootstrap interval; † = not significant (paired t-test, p ≥ 0.05).</p>
        {{body}}
        </body></html>
        """;

    static string F(double v) => double.IsNaN(v) ? "—" : v.ToString("0.00", Inv);
    static string Signed(double v) => double.IsNaN(v) ? "—" : (v >= 0 ? "+" : "") + F(v);
    static string E(string s) => WebUtility.HtmlEncode(s);
    static string Csv(string s) => s.IndexOfAny([',', '"', '\n']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;
}
