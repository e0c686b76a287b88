namespace Stilts.Tokenization;

/// <summary>A special or added token matched verbatim in the text. Plain-string specials (HF's default) swallow the
/// whitespace on both sides; an AddedToken swallows only what its lstrip/rstrip flags say.</summary>
internal sealed record AddedToken(string Content, int Id, bool LStrip = true, bool RStrip = true);

/// <summary>One piece of text between added tokens (Id null) or an added token itself, as a range of the text.</summary>
internal readonly record struct TextSegment(int Start, int End, int? Id);

/// <summary>HF slow tokenizers' added-token handling (tokens_trie.split plus the lstrip/rstrip pass) and the shared
/// decode clean-up.</summary>
internal static class AddedTokens
{
    /// <summary>Splits at leftmost-longest occurrences of the added tokens, then strips neighbouring whitespace.</summary>
    public static List<TextSegment> Split(string text, IReadOnlyList<AddedToken> tokens)
    {
        var found = new List<(int Start, int End, AddedToken Token)>();
        if (tokens.Count > 0)
            for (int i = 0; i < text.Length;)
            {
                AddedToken? best = null;
                // Every special token we know starts with '<' or '['; checking the first char keeps this cheap.
                foreach (var t in tokens)
                    if (t.Content.Length > 0 && t.Content[0] == text[i] && (best == null || t.Content.Length > best.Content.Length)
                        && string.CompareOrdinal(text, i, t.Content, 0, t.Content.Length) == 0)
                        best = t;
                if (best == null) { i++; continue; }
                found.Add((i, i + best.Content.Length, best));
                i += best.Content.Length;
            }

        var segments = new List<TextSegment>();
        int pos = 0;
        foreach (var (s, e, token) in found)
        {
            segments.Add(new TextSegment(pos, s, null));
            segments.Add(new TextSegment(s, e, token.Id));
            pos = e;
        }
        segments.Add(new TextSegment(pos, text.Length, null));

        // The strip pass: a token's flags trim the text segments beside it.
        int k = 0;
        for (int i = 0; i < segments.Count; i++)
        {
            if (segments[i].Id == null) continue;
            var token = found[k++].Token;
            if (token.LStrip && i > 0 && segments[i - 1].Id == null)
            {
                var left = segments[i - 1];
                int end = left.End;
                while (end > left.Start && IsPySpace(text[end - 1])) end--;
                segments[i - 1] = left with { End = end };
            }
            if (token.RStrip && i + 1 < segments.Count && segments[i + 1].Id == null)
            {
                var right = segments[i + 1];
                int start = right.Start;
                while (start < right.End && IsPySpace(text[start])) start++;
                segments[i + 1] = right with { Start = start };
            }
        }
        return segments.Where(s => s.Id != null || s.End > s.Start).ToList();
    }

    /// <summary>Python str.isspace for one UTF-16 unit.</summary>
    public static bool IsPySpace(char c) => char.IsWhiteSpace(c) || c is >= '\x1c' and <= '\x1f';

    /// <summary>HF clean_up_tokenization: removes the space before punctuation and English contractions.</summary>
    public static string CleanUp(string text) => text
        .Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'")
        .Replace(" n't", "n't").Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");

    /// <summary>Python str.strip(): whitespace off both ends.</summary>
    public static string PyStrip(string s)
    {
        int a = 0, b = s.Length;
        while (a < b && IsPySpace(s[a])) a++;
        while (b > a && IsPySpace(s[b - 1])) b--;
        return s[a..b];
    }

    /// <summary>Builds an <see cref="Encoding"/> of one text's tokens (no specials): type ids and sequence ids 0.</summary>
    public static Encoding ToEncoding(List<int> ids, List<string> tokens, List<(int, int)> offsets) =>
        new(ids.ToArray(), tokens.ToArray(), offsets.ToArray(), new int[ids.Count], new int[ids.Count]);
}
