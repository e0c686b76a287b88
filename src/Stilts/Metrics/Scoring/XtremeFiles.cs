using System.Text;
using System.Text.Json;

namespace Stilts.Metrics.Scoring;

/// <summary>
/// Readers for the label and prediction files of the xtreme folder contract. They read what evaluate.py reads
/// (lines are str.strip()ped; a blank line ends a tagged sentence) and reject what it would silently mis-score,
/// naming file and line.
/// </summary>
public static class XtremeFiles
{
    /// <summary>One stripped line per line (evaluate.py read_label).</summary>
    public static List<string> ReadLines(string path) =>
        File.ReadLines(path, Encoding.UTF8).Select(PythonText.Strip).ToList();

    /// <summary>Tag sentences (read_tag): one tag per line, a blank line closes a sentence (even an empty one).</summary>
    public static List<IReadOnlyList<string>> ReadTags(string path)
    {
        var sentences = new List<IReadOnlyList<string>>();
        var current = new List<string>();
        int lineNo = 0;
        foreach (string raw in File.ReadLines(path, Encoding.UTF8))
        {
            lineNo++;
            string tag = PythonText.Strip(raw);
            if (tag.Length == 0) { sentences.Add(current); current = []; continue; }
            if (PythonText.CodePoints(tag).Any(PythonText.IsSpace))
                throw InvalidInputException.AtLine(path, lineNo, $"expected one tag per line, got '{tag}'");
            current.Add(tag);
        }
        if (current.Count > 0) sentences.Add(current);
        return sentences;
    }

    /// <summary>Lines "src_id \t en_id" (bucc_f1).</summary>
    public static List<IdPair> ReadPairs(string path)
    {
        var pairs = new List<IdPair>();
        int lineNo = 0;
        foreach (string line in ReadLines(path))
        {
            lineNo++;
            string[] parts = line.Split('\t');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                throw InvalidInputException.AtLine(path, lineNo, $"expected 'source_id<TAB>english_id', got '{line}'");
            pairs.Add(new IdPair(parts[0], parts[1]));
        }
        return pairs;
    }

    /// <summary>One non-negative integer per line (Tatoeba). Kept as the stripped text, since evaluate.py compares strings.</summary>
    public static List<string> ReadIndices(string path)
    {
        var lines = ReadLines(path);
        for (int i = 0; i < lines.Count; i++)
            if (lines[i].Length == 0 || !lines[i].All(char.IsAsciiDigit))
                throw InvalidInputException.AtLine(path, i + 1, $"expected a sentence index (non-negative integer), got '{lines[i]}'");
        return lines;
    }

    /// <summary>XCOPA jsonl: the "label" value of each line, as canonical JSON text (1 and 1.0 compare equal, as in Python).</summary>
    public static List<string> ReadXcopaLabels(string path)
    {
        var labels = new List<string>();
        int lineNo = 0;
        foreach (string line in File.ReadLines(path, Encoding.UTF8))
        {
            lineNo++;
            try
            {
                using var doc = JsonDocument.Parse(line);
                if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("label", out var label))
                    throw InvalidInputException.AtLine(path, lineNo, "expected a JSON object with a \"label\" field");
                labels.Add(label.ValueKind == JsonValueKind.Number ? label.GetDouble().ToString("R") : label.GetRawText());
            }
            catch (JsonException e)
            {
                throw InvalidInputException.AtLine(path, lineNo, "invalid JSON: " + e.Message);
            }
        }
        return labels;
    }

    /// <summary>SQuAD-format gold: {"data": [{"paragraphs": [{"qas": [{"id", "answers": [{"text"}]}]}]}]} (or the bare list).</summary>
    public static List<QaQuestion> ReadSquadGold(string path)
    {
        using var doc = ParseJson(path);
        JsonElement data = doc.RootElement;
        if (data.ValueKind == JsonValueKind.Object && data.TryGetProperty("data", out var d)) data = d;
        if (data.ValueKind != JsonValueKind.Array) throw new InvalidInputException(path, "expected SQuAD format: an object with a \"data\" list");
        var questions = new List<QaQuestion>();
        foreach (var article in data.EnumerateArray())
            foreach (var paragraph in Array(article, "paragraphs", path))
                foreach (var qa in Array(paragraph, "qas", path))
                {
                    string id = String(qa, "id", path);
                    var answers = Array(qa, "answers", path).Select(a => String(a, "text", path)).ToList();
                    questions.Add(new QaQuestion(id, answers));
                }
        return questions;
    }

    /// <summary>QA predictions {qid: answer text}.</summary>
    public static Dictionary<string, string> ReadAnswers(string path)
    {
        using var doc = ParseJson(path);
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidInputException(path, "expected a JSON object {question_id: answer}");
        var answers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject())
            answers[p.Name] = p.Value.ValueKind == JsonValueKind.String
                ? p.Value.GetString()!
                : throw new InvalidInputException($"{path}: {p.Name}", $"expected the answer as a string, got {p.Value.ValueKind}");
        return answers;
    }

    /// <summary>{id: [ids...]} in file order (Mewsli-X labels and predictions, LAReQA).</summary>
    public static List<KeyValuePair<string, IReadOnlyList<string>>> ReadIdLists(string path)
    {
        using var doc = ParseJson(path);
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw new InvalidInputException(path, "expected a JSON object {id: [ids]}");
        var result = new List<KeyValuePair<string, IReadOnlyList<string>>>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.Array || p.Value.EnumerateArray().Any(v => v.ValueKind != JsonValueKind.String))
                throw new InvalidInputException($"{path}: {p.Name}", "expected a list of string ids");
            IReadOnlyList<string> ids = p.Value.EnumerateArray().Select(v => v.GetString()!).ToList();
            var entry = new KeyValuePair<string, IReadOnlyList<string>>(p.Name, ids);
            // A repeated key keeps its first position and its last value, as a Python dict does.
            if (index.TryGetValue(p.Name, out int at)) result[at] = entry;
            else { index[p.Name] = result.Count; result.Add(entry); }
        }
        return result;
    }

    static JsonDocument ParseJson(string path)
    {
        // The Stream overload skips a UTF-8 BOM.
        using var stream = File.OpenRead(path);
        try { return JsonDocument.Parse(stream); }
        catch (JsonException e) { throw new InvalidInputException(path, "invalid JSON: " + e.Message, e); }
    }

    static IEnumerable<JsonElement> Array(JsonElement parent, string name, string path) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray()
            : throw new InvalidInputException(path, $"expected a \"{name}\" list in SQuAD format");

    static string String(JsonElement parent, string name, string path) =>
        parent.ValueKind == JsonValueKind.Object && parent.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new InvalidInputException(path, $"expected a string \"{name}\" in SQuAD format");
}
