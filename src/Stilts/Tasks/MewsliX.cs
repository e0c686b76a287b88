namespace Stilts.Tasks;

/// <summary>
/// Mewsli-X entity linking: news mentions in 11 languages against ~1M Wikidata entities described by Wikipedia text;
/// metric mAP@20 (= MRR@20, one gold entity per mention). Field names follow the Mewsli-X schema
/// (google-research dense_representations_for_entity_retrieval/mel/mewsli_x/schema.py, used by xtreme).
/// </summary>
public static class MewsliX
{
    public static TaskDefinition Definition { get; } = new()
    {
        Name = "mewslix", Kind = TaskKind.EntityLinking, Role = TaskRole.Target, XtremeRLanguages = Languages.MewsliX,
        Layout = new(null, "wikinews_mentions/dev-{lang}.jsonl", "wikinews_mentions/test-{lang}.jsonl"),
        Reader = new RetrievalReader((folder, lang, split) => Read(
            Path.Combine(folder, "wikinews_mentions", $"{(split == Split.Dev ? "dev" : "test")}-{lang}.jsonl"),
            Path.Combine(folder, "candidate_set_entities.jsonl"), lang)),
        Metric = MetricName.MapAt20, XtremeFolder = "mewslix", PredictionExtension = "jsonl", DefaultMaxLength = 64,
    };

    /// <summary>
    /// wikinews_mentions/{dev,test}-{lang}.jsonl (or the all-language wikinews_mentions-{split}.jsonl): each line is
    /// {context:{language, text, document_id, ...}, mentions:[{example_id, mention_span:{start, end, text}, entity_id}]}.
    /// With <paramref name="language"/> set, contexts of other languages are skipped. A mention span whose text does
    /// not match the context is an error (the schema validates the same).
    /// </summary>
    public static IEnumerable<EntityMention> ReadMentions(string path, string? language = null, ReadReport? report = null)
    {
        if (language != null) Languages.Check(language, Languages.MewsliX, path);
        report ??= new ReadReport();
        foreach (var (line, obj) in TaskFiles.JsonLines(path))
        {
            string where = $"{path}:{line}";
            var context = TaskFiles.Obj(obj, "context", where);
            string lang = TaskFiles.Str(context, "language", where);
            if (language != null && lang != language) continue;
            string text = TaskFiles.Str(context, "text", where);
            foreach (var m in TaskFiles.Arr(obj, "mentions", where).EnumerateArray())
            {
                string id = TaskFiles.Str(m, "example_id", where);
                string mw = $"{where} mention {id}";
                var span = TaskFiles.Obj(m, "mention_span", mw);
                int start = TaskFiles.Int(span, "start", mw), end = TaskFiles.Int(span, "end", mw);
                string mention = TaskFiles.Str(span, "text", mw);
                if (start < 0 || end > text.Length || start >= end || text[start..end] != mention)
                    throw new InvalidInputException(mw, $"mention_span [{start}, {end}) does not hold \"{mention}\" in the context text");
                report.Read++;
                yield return new EntityMention(id, lang, text, start, end, mention, TaskFiles.OptStr(m, "entity_id", mw));
            }
        }
    }

    /// <summary>candidate_set_entities.jsonl: entity_id, title, description, description_language (streams ~1M lines).</summary>
    public static IEnumerable<CandidateEntity> ReadCandidates(string path)
    {
        foreach (var (line, obj) in TaskFiles.JsonLines(path))
        {
            string where = $"{path}:{line}";
            yield return new CandidateEntity(TaskFiles.Str(obj, "entity_id", where),
                TaskFiles.OptStr(obj, "description_language", where) ?? "",
                TaskFiles.Str(obj, "title", where), TaskFiles.Str(obj, "description", where));
        }
    }

    /// <summary>The mentions of one language with the whole candidate set.</summary>
    public static EntityLinkingData Read(string mentionsPath, string candidatesPath, string language) =>
        new(language, [.. ReadMentions(mentionsPath, language)], [.. ReadCandidates(candidatesPath)]);
}
