using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Stilts.Tasks;

/// <summary>File formats a user task can name.</summary>
public enum UserFileFormat { Jsonl, Tsv, Squad }

/// <summary>
/// A task with no code: a YAML (or JSON) config naming data files, their columns, the kind and the label set.
/// Example (paths are relative to the config file; "{lang}" is replaced by the language):
/// <code>
/// name: reviews
/// kind: PairClassification          # SentenceClassification | PairClassification | Tagging | SpanQa | MultipleChoice
/// files: { train: train.jsonl, dev: dev-{lang}.jsonl }
/// columns: { text: premise, text_pair: hypothesis, label: verdict }
/// labels: [yes, no]
/// languages: [en, de]               # optional, for dev/test
/// max_length: 128                   # optional, default 256
/// </code>
/// JSONL columns are keys (tokens/tags/choices are arrays; answers an array of {text, answer_start}). TSV columns are
/// header names (header: true, the default) or 0-based indices (header: false); tagging TSV is one token per line
/// with the tokens/tags columns (default 0 and 1) and blank lines between sentences. Labels outside the set are
/// errors naming file:line.
/// </summary>
public static class UserTask
{
    /// <summary>The config as written; snake_case keys.</summary>
    public sealed class Config
    {
        public string? Name { get; set; }
        public TaskKind? Kind { get; set; }
        public UserFileFormat? Format { get; set; }
        public bool Header { get; set; } = true;
        public Dictionary<string, string>? Files { get; set; }
        public Dictionary<string, string>? Columns { get; set; }
        public List<string>? Labels { get; set; }
        public List<string>? Languages { get; set; }
        public int? ChoiceCount { get; set; }
        public int MaxLength { get; set; } = 256;
    }

    static readonly IDeserializer Yaml = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .Build();

    /// <summary>Loads and validates a config file into a task definition.</summary>
    public static TaskDefinition Load(string configPath)
    {
        if (!File.Exists(configPath)) throw new InvalidInputException(configPath, "task config not found");
        Config? config;
        try { config = Yaml.Deserialize<Config>(File.ReadAllText(configPath)); }
        catch (YamlException e)
        {
            throw InvalidInputException.AtLine(configPath, (int)e.Start.Line,
                $"invalid task config: {(e.InnerException ?? e).Message}");
        }
        if (config is null) throw new InvalidInputException(configPath, "the task config is empty");
        return FromConfig(config, Path.GetDirectoryName(Path.GetFullPath(configPath))!, configPath);
    }

    /// <summary>Builds a definition from a parsed config; relative file paths are taken from <paramref name="baseDir"/>.</summary>
    public static TaskDefinition FromConfig(Config c, string baseDir, string where)
    {
        string name = c.Name is { Length: > 0 } n ? n : throw new InvalidInputException($"{where}: name", "a task name is required");
        TaskKind kind = c.Kind ?? throw new InvalidInputException($"{where}: kind", "required: SentenceClassification, PairClassification, Tagging, SpanQa or MultipleChoice");
        if (kind is not (TaskKind.SentenceClassification or TaskKind.PairClassification or TaskKind.Tagging or TaskKind.SpanQa or TaskKind.MultipleChoice))
            throw new InvalidInputException($"{where}: kind", $"{kind} tasks cannot be defined by a config; use SentenceClassification, PairClassification, Tagging, SpanQa or MultipleChoice");
        if (c.Files is not { Count: > 0 }) throw new InvalidInputException($"{where}: files", "expected at least one of train, dev, test");
        foreach (string key in c.Files.Keys)
            if (key is not ("train" or "dev" or "test"))
                throw new InvalidInputException($"{where}: files.{key}", "expected train, dev or test");
        string? File(string split) => c.Files.TryGetValue(split, out var f) ? Path.GetFullPath(Path.Combine(baseDir, f)) : null;
        var labels = c.Labels ?? [];
        if (kind is TaskKind.SentenceClassification or TaskKind.PairClassification && labels.Count == 0)
            throw new InvalidInputException($"{where}: labels", "a classification task needs its label set");
        int choices = 0;
        if (kind == TaskKind.MultipleChoice)
            choices = c.ChoiceCount is > 1 ? c.ChoiceCount.Value : throw new InvalidInputException($"{where}: choice_count", "a multiple-choice task needs choice_count ≥ 2");
        var columns = new Columns(c.Columns ?? [], kind, where);
        var format = c.Format;
        bool header = c.Header;
        return new TaskDefinition
        {
            Name = name, Kind = kind, Role = TaskRole.Intermediate, Labels = labels, ChoiceCount = choices,
            OtherLanguages = c.Languages ?? [],
            Layout = new FileLayout(File("train"), File("dev"), File("test")),
            Reader = new ExampleReader((p, _, r) => Read(p, format ?? FormatOf(p), header, kind, columns, labels, choices, r)),
            Metric = kind switch
            {
                TaskKind.Tagging => MetricName.SeqevalF1,
                TaskKind.SpanQa => MetricName.SquadEmF1,
                _ => MetricName.Accuracy,
            },
            DefaultMaxLength = c.MaxLength,
        };
    }

    static UserFileFormat FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".jsonl" => UserFileFormat.Jsonl,
        ".tsv" or ".txt" => UserFileFormat.Tsv,
        ".json" => UserFileFormat.Squad,
        var e => throw new InvalidInputException(path, $"cannot tell the format from \"{e}\"; set format: jsonl, tsv or squad"),
    };

    /// <summary>Column names per role, with the defaults of each kind.</summary>
    sealed class Columns
    {
        readonly Dictionary<string, string> map;
        public Columns(Dictionary<string, string> given, TaskKind kind, string where)
        {
            string[] known = ["id", "text", "text_pair", "label", "tokens", "tags", "question", "context", "answers", "choices"];
            foreach (string k in given.Keys)
                if (!known.Contains(k)) throw new InvalidInputException($"{where}: columns.{k}", $"unknown column role; known: {string.Join(", ", known)}");
            map = new Dictionary<string, string>(given);
            if (kind == TaskKind.Tagging) { map.TryAdd("tokens", "tokens"); map.TryAdd("tags", "tags"); }
            foreach (string k in known) map.TryAdd(k, k);
        }
        public string this[string role] => map[role];
    }

    static IEnumerable<TaskExample> Read(string path, UserFileFormat format, bool header, TaskKind kind,
        Columns cols, IReadOnlyList<string> labels, int choices, ReadReport report) => format switch
    {
        UserFileFormat.Squad when kind == TaskKind.SpanQa => SquadJson.Read(path, report),
        UserFileFormat.Jsonl => ReadJsonl(path, kind, cols, labels, choices, report),
        UserFileFormat.Tsv when kind == TaskKind.Tagging => ReadTaggingTsv(path, cols, labels, report),
        UserFileFormat.Tsv when kind is TaskKind.SentenceClassification or TaskKind.PairClassification =>
            ReadClassificationTsv(path, header, kind, cols, labels, report),
        _ => throw new InvalidInputException(path, $"{kind} data cannot be read from {format} files"),
    };

    static IEnumerable<TaskExample> ReadJsonl(string path, TaskKind kind, Columns cols, IReadOnlyList<string> labels, int choices, ReadReport report)
    {
        foreach (var (line, obj) in TaskFiles.JsonLines(path))
        {
            string where = $"{path}:{line}";
            string id = TaskFiles.OptStr(obj, cols["id"], where) ?? $"{TaskFiles.Stem(path)}-{line}";
            string? label = TaskFiles.OptStr(obj, cols["label"], where);
            if (label != null && kind != TaskKind.MultipleChoice) TaskFiles.CheckLabel(label, labels, where);
            report.Read++;
            yield return kind switch
            {
                TaskKind.SentenceClassification => new SentenceClassificationExample(id, TaskFiles.Str(obj, cols["text"], where), label),
                TaskKind.PairClassification => new PairClassificationExample(id, TaskFiles.Str(obj, cols["text"], where),
                    TaskFiles.Str(obj, cols["text_pair"], where), label),
                TaskKind.Tagging => Tagging(obj, cols, labels, where, id),
                TaskKind.SpanQa => new SpanQaExample(id, TaskFiles.Str(obj, cols["question"], where), TaskFiles.Str(obj, cols["context"], where),
                    [.. TaskFiles.Arr(obj, cols["answers"], where).EnumerateArray().Select(a =>
                        new SpanAnswer(TaskFiles.Str(a, "text", where), TaskFiles.Int(a, "answer_start", where)))],
                    IsImpossible: TaskFiles.Arr(obj, cols["answers"], where).GetArrayLength() == 0),
                _ => Choice(obj, cols, choices, label, where, id),
            };
        }
    }

    static TaggingExample Tagging(System.Text.Json.JsonElement obj, Columns cols, IReadOnlyList<string> labels, string where, string id)
    {
        string[] words = [.. TaskFiles.Arr(obj, cols["tokens"], where).EnumerateArray().Select(t => t.GetString() ?? "")];
        string[]? tags = obj.TryGetProperty(cols["tags"], out _)
            ? [.. TaskFiles.Arr(obj, cols["tags"], where).EnumerateArray().Select(t => TaskFiles.CheckLabel(t.GetString() ?? "", labels, where))]
            : null;
        if (tags != null && tags.Length != words.Length)
            throw new InvalidInputException(where, $"{words.Length} tokens but {tags.Length} tags");
        return new TaggingExample(id, words, tags);
    }

    static MultipleChoiceExample Choice(System.Text.Json.JsonElement obj, Columns cols, int choices, string? label, string where, string id)
    {
        string[] options = [.. TaskFiles.Arr(obj, cols["choices"], where).EnumerateArray().Select(t => t.GetString() ?? "")];
        if (options.Length != choices) throw new InvalidInputException(where, $"expected {choices} choices, found {options.Length}");
        int? index = label is null ? null
            : int.TryParse(label, out int i) && i >= 0 && i < choices ? i
            : throw new InvalidInputException(where, $"label \"{label}\" is not a choice index 0..{choices - 1}");
        return new MultipleChoiceExample(id, TaskFiles.OptStr(obj, cols["context"], where) ?? "",
            TaskFiles.OptStr(obj, cols["question"], where), options, index);
    }

    static IEnumerable<TaskExample> ReadClassificationTsv(string path, bool header, TaskKind kind, Columns cols,
        IReadOnlyList<string> labels, ReadReport report)
    {
        int text = -1, pair = -1, label = -1, id = -1, width = 0;
        foreach (var (line, row) in TaskFiles.Lines(path))
        {
            if (width == 0)
            {
                string[] first = row.Split('\t');
                width = first.Length;
                int Col(string role, bool required)
                {
                    string name = cols[role];
                    int i = header ? Array.IndexOf(first, name) : int.TryParse(name, out int k) && k >= 0 && k < width ? k : -1;
                    if (i < 0 && required)
                        throw InvalidInputException.AtLine(path, 1, header
                            ? $"header has no \"{name}\" column for {role} (found: {string.Join(", ", first)})"
                            : $"column {role} must be a 0-based index below {width} when header: false, found \"{name}\"");
                    return i;
                }
                text = Col("text", true);
                pair = Col("text_pair", kind == TaskKind.PairClassification);
                label = Col("label", false);
                id = Col("id", false);
                if (header) continue;
            }
            if (string.IsNullOrWhiteSpace(row)) continue;
            string[] f = TaskFiles.Fields(path, line, row, "a row as wide as the first", width);
            string? y = label >= 0 ? TaskFiles.CheckLabel(f[label], labels, $"{path}:{line}") : null;
            string exId = id >= 0 ? f[id] : $"{TaskFiles.Stem(path)}-{line}";
            report.Read++;
            yield return kind == TaskKind.PairClassification
                ? new PairClassificationExample(exId, f[text], f[pair], y)
                : new SentenceClassificationExample(exId, f[text], y);
        }
    }

    static IEnumerable<TaskExample> ReadTaggingTsv(string path, Columns cols, IReadOnlyList<string> labels, ReadReport report)
    {
        int tok = cols["tokens"] == "tokens" ? 0 : ParseIndex(cols["tokens"], "tokens", path);
        int tag = cols["tags"] == "tags" ? 1 : ParseIndex(cols["tags"], "tags", path);
        if (tok == 0 && tag == 1) return TokenTagTsv.Read(path, labels, report);
        return TokenTagTsv.Read(path, labels, report, columns: (tok, tag));
    }

    static int ParseIndex(string s, string role, string path) =>
        int.TryParse(s, out int i) && i >= 0 ? i
            : throw new InvalidInputException(path, $"tagging TSV columns are 0-based indices; columns.{role} is \"{s}\"");
}
