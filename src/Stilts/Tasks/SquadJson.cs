using System.Text.Json;

namespace Stilts.Tasks;

/// <summary>
/// The SQuAD JSON format shared by SQuAD v1.1/v2.0, XQuAD, MLQA and TyDiQA-GoldP:
/// {version?, data:[{title, paragraphs:[{context, qas:[{id, question, answers:[{text, answer_start}], is_impossible?}]}]}]}.
/// </summary>
public static class SquadJson
{
    /// <summary>
    /// Reads every question. An answer whose answer_start does not point at its text is kept and counted in
    /// <see cref="ReadReport.AnswerMismatches"/> (HF warns the same way); blank answers (xtreme's blanked test
    /// annotations) are dropped. <paramref name="languageOfId"/> gives each question's language from its id, null to
    /// skip it (TyDiQA's per-language split).
    /// </summary>
    public static IEnumerable<SpanQaExample> Read(string path, ReadReport? report = null,
        string? language = null, Func<string, string?>? languageOfId = null)
    {
        report ??= new ReadReport();
        using var doc = TaskFiles.JsonFile(path);
        var data = TaskFiles.Arr(doc.RootElement, "data", path);
        int a = 0;
        foreach (var article in data.EnumerateArray())
        {
            string aw = $"{path}: data[{a}]";
            string? title = TaskFiles.OptStr(article, "title", aw);
            int p = 0;
            foreach (var paragraph in TaskFiles.Arr(article, "paragraphs", aw).EnumerateArray())
            {
                string pw = $"{aw}.paragraphs[{p++}]";
                string context = TaskFiles.Str(paragraph, "context", pw);
                int q = 0;
                foreach (var qa in TaskFiles.Arr(paragraph, "qas", pw).EnumerateArray())
                {
                    string qw = $"{pw}.qas[{q++}]";
                    string id = TaskFiles.Str(qa, "id", qw);
                    string? lang = language;
                    if (languageOfId != null)
                    {
                        lang = languageOfId(id);
                        if (lang is null) continue;
                    }
                    var answers = ReadAnswers(qa, context, id, qw, report);
                    bool impossible = qa.TryGetProperty("is_impossible", out var imp) && imp.ValueKind == JsonValueKind.True;
                    report.Read++;
                    yield return new SpanQaExample(id, TaskFiles.Str(qa, "question", qw), context, answers, impossible, title, lang);
                }
            }
            a++;
        }
    }

    static List<SpanAnswer> ReadAnswers(JsonElement qa, string context, string id, string where, ReadReport report)
    {
        var answers = new List<SpanAnswer>();
        if (!qa.TryGetProperty("answers", out var arr)) return answers;
        if (arr.ValueKind != JsonValueKind.Array) throw new InvalidInputException(where, "expected \"answers\" to be an array");
        int i = 0;
        foreach (var ans in arr.EnumerateArray())
        {
            string aw = $"{where}.answers[{i++}]";
            string text = TaskFiles.Str(ans, "text", aw);
            int start = TaskFiles.Int(ans, "answer_start", aw);
            if (string.IsNullOrWhiteSpace(text)) continue;
            if (start < 0 || start + text.Length > context.Length || string.CompareOrdinal(context, start, text, 0, text.Length) != 0)
                report.Mismatch($"{aw} (id {id}): answer_start {start} does not point at \"{text}\"");
            answers.Add(new SpanAnswer(text, start));
        }
        return answers;
    }
}
