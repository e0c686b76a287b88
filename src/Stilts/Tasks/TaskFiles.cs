using System.Text.Json;

namespace Stilts.Tasks;

/// <summary>
/// Line-oriented reading shared by every reader: numbered lines, TSV fields, JSONL objects and JSON fields, each
/// failing with an <see cref="InvalidInputException"/> that names file:line and what was expected.
/// </summary>
internal static class TaskFiles
{
    /// <summary>Lines with 1-based numbers, lazily; a missing file, or one with nothing but blank lines, is an error.</summary>
    public static IEnumerable<(int Line, string Text)> Lines(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "file not found");
        return Iterate(path);

        static IEnumerable<(int, string)> Iterate(string path)
        {
            using var reader = new StreamReader(path, System.Text.Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            int n = 0;
            bool content = false;
            string? line;
            while ((line = reader.ReadLine()) != null)
            {
                content |= !string.IsNullOrWhiteSpace(line);
                yield return (++n, line);
            }
            if (!content) throw new InvalidInputException(path, "the file is empty");
        }
    }

    /// <summary>Lines that are not blank (JSONL, one-record-per-line formats).</summary>
    public static IEnumerable<(int Line, string Text)> NonBlankLines(string path) =>
        Lines(path).Where(l => l.Text.Length > 0 && !string.IsNullOrWhiteSpace(l.Text));

    /// <summary>Splits a TSV line and checks the column count is one of <paramref name="counts"/>.</summary>
    public static string[] Fields(string path, int line, string text, string expected, params int[] counts)
    {
        string[] f = text.Split('\t');
        if (Array.IndexOf(counts, f.Length) < 0)
            throw InvalidInputException.AtLine(path, line,
                $"expected {expected} ({string.Join(" or ", counts)} tab-separated columns), found {f.Length}");
        return f;
    }

    /// <summary>Each JSONL line parsed as an object (the element is only valid during the iteration step).</summary>
    public static IEnumerable<(int Line, JsonElement Obj)> JsonLines(string path)
    {
        foreach (var (line, text) in NonBlankLines(path))
        {
            JsonDocument doc;
            try { doc = JsonDocument.Parse(text); }
            catch (JsonException e) { throw InvalidInputException.AtLine(path, line, $"expected one JSON object per line: {e.Message}"); }
            using (doc)
            {
                if (doc.RootElement.ValueKind != JsonValueKind.Object)
                    throw InvalidInputException.AtLine(path, line, $"expected a JSON object, found {doc.RootElement.ValueKind}");
                yield return (line, doc.RootElement);
            }
        }
    }

    /// <summary>A whole JSON file (SQuAD style); the caller disposes the document.</summary>
    public static JsonDocument JsonFile(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "file not found");
        if (new FileInfo(path).Length == 0) throw new InvalidInputException(path, "the file is empty");
        using var stream = File.OpenRead(path);
        try { return JsonDocument.Parse(stream); }
        catch (JsonException e) { throw new InvalidInputException($"{path}:{e.LineNumber + 1}", $"invalid JSON: {e.Message}"); }
    }

    public static string Str(JsonElement obj, string key, string where)
    {
        if (!obj.TryGetProperty(key, out var v)) throw new InvalidInputException(where, $"missing key \"{key}\"");
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString()!,
            JsonValueKind.Number => v.GetRawText(),
            _ => throw new InvalidInputException(where, $"expected \"{key}\" to be a string, found {v.ValueKind}"),
        };
    }

    public static string? OptStr(JsonElement obj, string key, string where) =>
        obj.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? Str(obj, key, where) : null;

    public static int Int(JsonElement obj, string key, string where)
    {
        if (!obj.TryGetProperty(key, out var v)) throw new InvalidInputException(where, $"missing key \"{key}\"");
        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i)) return i;
        if (v.ValueKind == JsonValueKind.String && int.TryParse(v.GetString(), out i)) return i;
        throw new InvalidInputException(where, $"expected \"{key}\" to be an integer, found {v.GetRawText()}");
    }

    public static JsonElement Arr(JsonElement obj, string key, string where)
    {
        if (!obj.TryGetProperty(key, out var v) || v.ValueKind != JsonValueKind.Array)
            throw new InvalidInputException(where, $"expected \"{key}\" to be an array");
        return v;
    }

    public static JsonElement Obj(JsonElement obj, string key, string where)
    {
        if (!obj.TryGetProperty(key, out var v) || v.ValueKind != JsonValueKind.Object)
            throw new InvalidInputException(where, $"expected \"{key}\" to be an object");
        return v;
    }

    /// <summary>Checks a label against a closed set; the error lists the valid labels.</summary>
    public static string CheckLabel(string label, IReadOnlyCollection<string> labels, string where)
    {
        if (labels.Count > 0 && !labels.Contains(label))
            throw new InvalidInputException(where, $"label \"{label}\" is not one of {{{string.Join(", ", labels)}}}");
        return label;
    }

    /// <summary>Index of a header column found by name (GLUE files move columns between versions).</summary>
    public static int Column(string[] header, string name, string path)
    {
        int i = Array.IndexOf(header, name);
        if (i < 0) throw InvalidInputException.AtLine(path, 1, $"header has no \"{name}\" column (found: {string.Join(", ", header)})");
        return i;
    }

    /// <summary>A BOM-free short file name for made-up ids.</summary>
    public static string Stem(string path) => Path.GetFileNameWithoutExtension(path);
}
