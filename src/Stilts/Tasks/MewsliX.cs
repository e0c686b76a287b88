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
        Metric = MetricName.MapAt20, XtremeFolder = "mewslix", PredictionExtension = "json", DefaultMaxLength = 64,
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

    /// <summary>
    /// For each mention (by example_id) the [start, end) span of the context sentence that holds it, from the
    /// contexts' optional "sentence_spans"; mentions whose context has none, or that cross a sentence boundary, are
    /// absent (their query then uses the whole context).
    /// </summary>
    public static IReadOnlyDictionary<string, (int Start, int End)> ReadMentionSentences(string path, string? language = null)
    {
        var result = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        foreach (var (line, obj) in TaskFiles.JsonLines(path))
        {
            string where = $"{path}:{line}";
            var context = TaskFiles.Obj(obj, "context", where);
            if (language != null && TaskFiles.Str(context, "language", where) != language) continue;
            if (!context.TryGetProperty("sentence_spans", out var spans) || spans.ValueKind != System.Text.Json.JsonValueKind.Array) continue;
            var sentences = spans.EnumerateArray().Select(s => (Start: TaskFiles.Int(s, "start", where), End: TaskFiles.Int(s, "end", where))).ToList();
            foreach (var m in TaskFiles.Arr(obj, "mentions", where).EnumerateArray())
            {
                var span = TaskFiles.Obj(m, "mention_span", where);
                int start = TaskFiles.Int(span, "start", where), end = TaskFiles.Int(span, "end", where);
                int hit = sentences.FindIndex(s => s.Start <= start && end <= s.End);
                if (hit >= 0) result[TaskFiles.Str(m, "example_id", where)] = sentences[hit];
            }
        }
        return result;
    }

    /// <summary>
    /// The query text of a mention as xtreme's baseline builds it (utils_mewslix.preprocess_mention): the mention's
    /// sentence (or the whole context) with the mention marked "{ mention }" and any braces pair elsewhere turned
    /// into parentheses, the mention prepended ("Hamburg: ... { Hamburg } ...") so truncation cannot drop it, then
    /// line breaks joined with spaces, double spaces halved and the ends stripped.
    /// </summary>
    public static string MentionQuery(EntityMention mention, (int Start, int End)? sentence = null)
    {
        var (from, to) = sentence ?? (0, mention.Context.Length);
        string left = EscapeMarkers(mention.Context[from..mention.Start]);
        string right = EscapeMarkers(mention.Context[mention.End..to]);
        return Normalize($"{mention.MentionText}: {left} {{ {mention.MentionText} }} {right}");
    }

    /// <summary>
    /// candidate_set_entities.jsonl as xtreme's baseline encodes it (preprocess_entity_description): each entity_id
    /// with its description's sentences (the "sentence_spans") joined by spaces, line breaks joined, double spaces
    /// halved, ends stripped; the whole description where the entity lists no spans.
    /// </summary>
    public static IEnumerable<(string EntityId, string Text)> ReadCandidateTexts(string path)
    {
        foreach (var (line, obj) in TaskFiles.JsonLines(path))
        {
            string where = $"{path}:{line}";
            string description = TaskFiles.Str(obj, "description", where);
            string text = description;
            if (obj.TryGetProperty("sentence_spans", out var spans) && spans.ValueKind == System.Text.Json.JsonValueKind.Array && spans.GetArrayLength() > 0)
                text = string.Join(" ", spans.EnumerateArray().Select(sp =>
                {
                    int start = TaskFiles.Int(sp, "start", where), end = TaskFiles.Int(sp, "end", where);
                    return start >= 0 && start <= end && end <= description.Length ? description[start..end]
                        : throw new InvalidInputException(where, $"sentence span [{start}, {end}) is outside the description ({description.Length} characters)");
                }));
            yield return (TaskFiles.Str(obj, "entity_id", where), Normalize(text));
        }
    }

    static readonly System.Text.RegularExpressions.Regex Marked = new(@"\{(.*?)\}");
    static string EscapeMarkers(string text) => Marked.Replace(text, "($1)");

    // Python: " ".join(s.splitlines()).replace("  ", " ").strip()
    static string Normalize(string s)
    {
        var lines = System.Text.RegularExpressions.Regex.Split(s, @"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]").ToList();
        if (lines.Count > 1 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1); // splitlines drops the last break
        return Metrics.PythonText.Strip(string.Join(" ", lines).Replace("  ", " "));
    }

    /// <summary>The mentions of one language with the whole candidate set.</summary>
    public static EntityLinkingData Read(string mentionsPath, string candidatesPath, string language) =>
        new(language, [.. ReadMentions(mentionsPath, language)], [.. ReadCandidates(candidatesPath)]);
}
