namespace Stilts.Tasks;

/// <summary>
/// The token-per-line tagging format shared by xtreme's udpos/panx files and our documented CCG tsv form:
/// "token\ttag" per line (or "token" alone in unlabelled files), a blank line between sentences.
/// </summary>
public static class TokenTagTsv
{
    /// <summary>
    /// Reads sentences; all lines of one file must agree on having a tag or not. <paramref name="stripPrefix"/>
    /// removes PAN-X's "xx:" language prefix (only the first one; tokens may contain ':'). <paramref name="columns"/>
    /// picks other 0-based token/tag columns from wider lines (user tasks).
    /// </summary>
    public static IEnumerable<TaggingExample> Read(string path, IReadOnlyList<string> labels,
        ReadReport? report = null, bool stripPrefix = false, (int Token, int Tag)? columns = null)
    {
        report ??= new ReadReport();
        string stem = TaskFiles.Stem(path);
        var words = new List<string>();
        var tags = new List<string>();
        bool? tagged = null;
        int start = 0;
        foreach (var (line, text) in TaskFiles.Lines(path))
        {
            if (string.IsNullOrWhiteSpace(text))
            {
                if (words.Count > 0) { report.Read++; yield return Make(); }
                continue;
            }
            var (tokCol, tagCol) = columns ?? (0, 1);
            string[] f = columns is null ? TaskFiles.Fields(path, line, text, "token[\\ttag]", 1, 2) : text.Split('\t');
            if (f.Length <= tokCol) throw InvalidInputException.AtLine(path, line, $"expected a token in column {tokCol + 1}, found {f.Length} columns");
            bool hasTag = f.Length > tagCol;
            if (tagged is bool t && t != hasTag)
                throw InvalidInputException.AtLine(path, line,
                    $"expected {(t ? "token\\ttag" : "a token alone")} like the lines before; files are either all tagged or all untagged");
            tagged = hasTag;
            if (words.Count == 0) start = line;
            string word = f[tokCol];
            if (stripPrefix)
            {
                int colon = word.IndexOf(':');
                if (colon < 0) throw InvalidInputException.AtLine(path, line, $"expected a \"lang:token\" prefix, found \"{word}\"");
                word = word[(colon + 1)..];
            }
            words.Add(word);
            if (hasTag) tags.Add(TaskFiles.CheckLabel(f[tagCol], labels, $"{path}:{line}"));
        }
        if (words.Count > 0) { report.Read++; yield return Make(); }

        TaggingExample Make()
        {
            var ex = new TaggingExample($"{stem}-{start}", [.. words], tagged == true ? [.. tags] : null);
            words.Clear();
            tags.Clear();
            return ex;
        }
    }
}
