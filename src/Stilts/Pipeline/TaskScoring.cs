using System.Text.Json;
using Stilts.Metrics;
using Stilts.Tasks;

namespace Stilts.Pipeline;

/// <summary>A language's score: the task's major metric as a fraction; span QA also EM and F1 in percent.</summary>
internal sealed record TaskScore(double Value, double? ExactMatch = null, double? F1 = null);

/// <summary>
/// Predictions against gold with each task's benchmark metric (accuracy; seqeval F1 for tagging as xtreme scores
/// UD-POS and PAN-X; the mean of SQuAD EM and F1 for span QA), and the prediction files of xtreme's contract. Shared
/// by every model family, so an mT5 run and an XLM-R run are scored by the same code.
/// </summary>
internal static class TaskScoring
{
    /// <summary>The score over the examples that have gold; null when none has (blanked test files).</summary>
    public static TaskScore? Score(PipelineTask task, IReadOnlyList<TaskExample> examples, TaskPredictions predictions, string language)
    {
        if (task.Kind == TaskKind.SpanQa)
        {
            var qa = QaScore(examples.Cast<SpanQaExample>().ToList(), predictions.Answers!, task.QaNormalizer(language));
            return qa == null ? null : new TaskScore(qa.Mean / 100, qa.ExactMatch, qa.F1);
        }
        var gold = examples.Select(PipelineTask.GoldOf).ToList();
        var labelled = Enumerable.Range(0, gold.Count).Where(i => gold[i] != null).ToList();
        if (labelled.Count == 0) return null;
        if (task.Kind == TaskKind.Tagging)
        {
            var tags = predictions.Tags!;
            return new TaskScore(Seqeval.Score(labelled.Select(i => (IReadOnlyList<string>)gold[i]!).ToList(), labelled.Select(i => tags[i]).ToList()).F1 / 100);
        }
        var labels = predictions.Labels!;
        return new TaskScore(Accuracy.Compute(labelled.Select(i => gold[i]![0]).ToList(), labelled.Select(i => labels[i]).ToList()).Accuracy / 100);
    }

    /// <summary>EM/F1 over the questions that have gold answers; null when none has.</summary>
    public static QaScore? QaScore(IReadOnlyList<SpanQaExample> examples, IReadOnlyDictionary<string, string> answers, AnswerNormalizer normalizer)
    {
        var gold = examples.Where(e => e.Answers.Count > 0).Select(e => new QaQuestion(e.Id, e.Answers.Select(a => a.Text).ToList())).ToList();
        return gold.Count == 0 ? null : QaMetrics.Evaluate(gold, answers, normalizer);
    }

    /// <summary>
    /// xtreme's prediction files: a label per line (classification, the choice index for multiple choice), tags one
    /// per line with a blank line after each sentence (tagging), {id: answer} JSON (span QA), {"label": i} lines (XCOPA's .jsonl).
    /// </summary>
    public static void WritePredictions(string path, TaskPredictions p)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        if (p.Answers != null)
            AtomicFile.WriteAllText(path, JsonSerializer.Serialize(p.Answers, new JsonSerializerOptions
            {
                WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            }));
        else if (p.Tags != null)
            AtomicFile.WriteAllText(path, string.Concat(p.Tags.Select(s => string.Concat(s.Select(t => t + "\n")) + "\n")));
        else if (path.EndsWith(".jsonl", StringComparison.Ordinal))
            // XCOPA's contract: one {"label": choice} object per line.
            AtomicFile.WriteAllText(path, string.Concat(p.Labels!.Select(l => JsonSerializer.Serialize(new
            {
                label = int.TryParse(l, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int i) ? (object)i : l,
            }) + "\n")));
        else
            AtomicFile.WriteAllText(path, string.Concat(p.Labels!.Select(l => l + "\n")));
    }
}
