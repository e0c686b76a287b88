using System.Text.Json;

namespace Stilts.Tasks;

/// <summary>
/// LAReQA: language-agnostic answer retrieval over XQuAD-R. Each question must retrieve the sentence holding its
/// answer in every language (11 gold candidates) from the pool of all sentences of all languages; metric mAP@20.
/// </summary>
public static class LaReqa
{
    /// <summary>Trains on SQuAD v1.1 (a dual encoder); test reads every xquad-r/{lang}.json into one candidate pool.</summary>
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "lareqa", Kind = TaskKind.QuestionRetrieval, Role = TaskRole.Target, XtremeRLanguages = Languages.LaReqa,
        Layout = new(null, null, "xquad-r/{lang}.json"),
        Reader = new RetrievalReader((folder, lang, _) => Combine(
            [.. Languages.LaReqa.Select(l => ReadFile(Path.Combine(folder, "xquad-r", $"{l}.json"), l))]).Single(d => d.Language == lang)),
        Metric = MetricName.MapAt20, XtremeFolder = "lareqa", PredictionExtension = "json", DefaultMaxLength = 352,
    };

    /// <summary>
    /// One xquad-r/{lang}.json: SQuAD JSON whose paragraphs also carry "sentences" and "sentence_breaks" ([start,
    /// end) character pairs). Candidates are the paragraph sentences, ids "{lang}-{paragraph}-{sentence}"; each
    /// question's gold is the sentence whose break contains its first answer's answer_start (questions whose answer
    /// falls in no sentence are skipped and counted). Gold here covers this language only; see <see cref="Combine"/>.
    /// </summary>
    public static QuestionRetrievalData ReadFile(string path, string language, ReadReport? report = null)
    {
        Languages.Check(language, Languages.LaReqa, path);
        report ??= new ReadReport();
        var questions = new List<RetrievalQuestion>();
        var candidates = new List<CandidateSentence>();
        using var doc = TaskFiles.JsonFile(path);
        int p = 0;
        foreach (var article in TaskFiles.Arr(doc.RootElement, "data", path).EnumerateArray())
            foreach (var paragraph in TaskFiles.Arr(article, "paragraphs", path).EnumerateArray())
            {
                string pw = $"{path}: paragraph {p}";
                string context = TaskFiles.Str(paragraph, "context", pw);
                var sentences = TaskFiles.Arr(paragraph, "sentences", pw).EnumerateArray().Select(s => s.GetString() ?? "").ToArray();
                var breaks = TaskFiles.Arr(paragraph, "sentence_breaks", pw).EnumerateArray().Select(b => ReadBreak(b, pw)).ToArray();
                if (breaks.Length != sentences.Length)
                    throw new InvalidInputException(pw, $"has {sentences.Length} sentences but {breaks.Length} sentence_breaks");
                for (int s = 0; s < sentences.Length; s++)
                    candidates.Add(new CandidateSentence($"{language}-{p}-{s}", language, sentences[s], context));
                foreach (var qa in TaskFiles.Arr(paragraph, "qas", pw).EnumerateArray())
                {
                    string id = TaskFiles.Str(qa, "id", pw);
                    var answers = TaskFiles.Arr(qa, "answers", $"{pw} question {id}");
                    if (answers.GetArrayLength() == 0) { report.Skip($"{pw} question {id}: no answer"); continue; }
                    int start = TaskFiles.Int(answers[0], "answer_start", $"{pw} question {id}");
                    int hit = Array.FindIndex(breaks, b => b.Start <= start && start < b.End);
                    if (hit < 0) { report.Skip($"{pw} question {id}: answer_start {start} is in no sentence"); continue; }
                    report.Read++;
                    questions.Add(new RetrievalQuestion(id, language, TaskFiles.Str(qa, "question", pw), [$"{language}-{p}-{hit}"]));
                }
                p++;
            }
        return new QuestionRetrievalData(language, questions, candidates);
    }

    static (int Start, int End) ReadBreak(JsonElement b, string where) =>
        b.ValueKind == JsonValueKind.Array && b.GetArrayLength() == 2 && b[0].TryGetInt32(out int s) && b[1].TryGetInt32(out int e) && s <= e
            ? (s, e) : throw new InvalidInputException(where, $"expected a sentence break [start, end], found {b.GetRawText()}");

    /// <summary>
    /// Joins per-language files into the LAReQA setting: one shared candidate pool, and each question's gold is the
    /// union of the gold sentences of the same question id across all languages. One result per input language.
    /// </summary>
    public static IReadOnlyList<QuestionRetrievalData> Combine(IReadOnlyList<QuestionRetrievalData> perLanguage)
    {
        var pool = perLanguage.SelectMany(d => d.Candidates).ToList();
        var gold = perLanguage.SelectMany(d => d.Questions)
            .GroupBy(q => q.Id)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.SelectMany(q => q.GoldSentenceIds).Distinct()]);
        return [.. perLanguage.Select(d => new QuestionRetrievalData(d.Language,
            [.. d.Questions.Select(q => q with { GoldSentenceIds = gold[q.Id] })], pool))];
    }
}
