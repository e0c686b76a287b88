namespace Stilts.Tasks;

/// <summary>TyDiQA-GoldP: SQuAD JSON (with or without "version"); the language is the id's prefix ("english-…").</summary>
public static class TydiQa
{
    /// <summary>Trains on the English GoldP train split; the GoldP dev files serve as test (xtreme renames them).</summary>
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "tydiqa", Kind = TaskKind.SpanQa, Role = TaskRole.Target,
        XtremeLanguages = Languages.TydiQa, XtremeRLanguages = Languages.TydiQa,
        Layout = new("tydiqa-goldp-v1.1-train/tydiqa.en.train.json", null, "tydiqa-goldp-v1.1-dev/tydiqa.goldp.{lang}.dev.json"),
        Reader = new ExampleReader((p, l, r) => Read(p, l, r)),
        Metric = MetricName.SquadEmF1, XtremeFolder = "tydiqa", PredictionExtension = "json", DefaultMaxLength = 384,
    };

    static readonly Dictionary<string, string> Names = new()
    {
        ["english"] = "en", ["arabic"] = "ar", ["bengali"] = "bn", ["finnish"] = "fi", ["indonesian"] = "id",
        ["korean"] = "ko", ["russian"] = "ru", ["swahili"] = "sw", ["telugu"] = "te",
    };

    /// <summary>"finnish-123…" → "fi"; an unknown prefix is an error listing the valid ones.</summary>
    public static string LanguageOfId(string id, string where)
    {
        int dash = id.IndexOf('-');
        string prefix = dash > 0 ? id[..dash] : id;
        return Names.TryGetValue(prefix, out var code) ? code
            : throw new InvalidInputException(where, $"question id \"{id}\" does not start with a TyDiQA language name; valid: {string.Join(", ", Names.Keys)}");
    }

    /// <summary>All questions, or only those of <paramref name="language"/> (the train file holds all nine).</summary>
    public static IEnumerable<SpanQaExample> Read(string path, string? language = null, ReadReport? report = null)
    {
        if (language != null) Languages.Check(language, Languages.TydiQa, path);
        return SquadJson.Read(path, report, languageOfId: id =>
        {
            string lang = LanguageOfId(id, path);
            return language is null || lang == language ? lang : null;
        });
    }
}
