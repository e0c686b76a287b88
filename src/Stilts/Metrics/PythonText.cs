using System.Globalization;
using System.Text;

namespace Stilts.Metrics;

/// <summary>
/// The few Python 3 string semantics the official evaluation scripts lean on (str.lower, str.split, str.strip,
/// the Unicode <c>\b</c> of <c>re</c>). .NET's defaults differ at the edges (final sigma, U+0130, U+001C..U+001F,
/// combining marks as word characters), and the scores must match the scripts, so we spell them out.
/// Everything works on code points, as Python strings do, not on UTF-16 units.
/// </summary>
internal static class PythonText
{
    public static int[] CodePoints(string s)
    {
        var result = new List<int>(s.Length);
        foreach (Rune r in s.EnumerateRunes()) result.Add(r.Value);
        return [.. result];
    }

    public static string FromCodePoints(IEnumerable<int> cps)
    {
        var sb = new StringBuilder();
        foreach (int cp in cps) sb.Append(char.ConvertFromUtf32(IsSurrogate(cp) ? 0xFFFD : cp));
        return sb.ToString();
    }

    static bool IsSurrogate(int cp) => cp is >= 0xD800 and <= 0xDFFF;

    static UnicodeCategory Category(int cp) =>
        IsSurrogate(cp) ? UnicodeCategory.Surrogate : Rune.GetUnicodeCategory(new Rune(cp));

    /// <summary>str.isspace(): bidi class WS/B/S or category Zs (this includes U+001C..U+001F, unlike char.IsWhiteSpace).</summary>
    public static bool IsSpace(int cp) =>
        cp is (>= 0x09 and <= 0x0D) or (>= 0x1C and <= 0x20) or 0x85 or 0xA0
        || (cp > 0xFF && Category(cp) is UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator);

    /// <summary>The <c>\w</c> of Python's <c>re</c> on str patterns: str.isalnum() or underscore (letters and all
    /// numbers; combining marks are not word characters, unlike .NET's <c>\w</c>).</summary>
    public static bool IsWordChar(int cp)
    {
        if (cp == '_') return true;
        if (cp < 0x80) return cp is (>= '0' and <= '9') or (>= 'a' and <= 'z') or (>= 'A' and <= 'Z');
        return Category(cp) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                or UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => true,
            _ => false,
        };
    }

    /// <summary>Unicode general category P* (what evaluate_mlqa.py collects into its PUNCT set).</summary>
    public static bool IsUnicodePunctuation(int cp) => Category(cp) switch
    {
        UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
            or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation => true,
        _ => false,
    };

    /// <summary>Python's string.punctuation: the 32 ASCII punctuation and symbol characters.</summary>
    public static bool IsAsciiPunctuation(int cp) =>
        cp is (>= 0x21 and <= 0x2F) or (>= 0x3A and <= 0x40) or (>= 0x5B and <= 0x60) or (>= 0x7B and <= 0x7E);

    /// <summary>str.lower(): full lowercase mapping (U+0130 becomes two code points) and the Final_Sigma rule.</summary>
    public static int[] Lower(int[] s)
    {
        var result = new List<int>(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            int cp = s[i];
            if (cp == 0x130) { result.Add('i'); result.Add(0x307); }
            else if (cp == 0x3A3) result.Add(IsFinalSigma(s, i) ? 0x3C2 : 0x3C3);
            else if (IsSurrogate(cp)) result.Add(cp);
            else result.Add(Rune.ToLowerInvariant(new Rune(cp)).Value);
        }
        return [.. result];
    }

    // Final_Sigma: \p{cased}\p{case-ignorable}* SIGMA !(\p{case-ignorable}* \p{cased}), as CPython checks it.
    static bool IsFinalSigma(int[] s, int i)
    {
        int j = i - 1;
        while (j >= 0 && IsCaseIgnorable(s[j])) j--;
        if (j < 0 || !IsCased(s[j])) return false;
        j = i + 1;
        while (j < s.Length && IsCaseIgnorable(s[j])) j++;
        return j == s.Length || !IsCased(s[j]);
    }

    static bool IsCased(int cp) =>
        Category(cp) is UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter;

    static bool IsCaseIgnorable(int cp) =>
        cp is 0x27 or 0x2E or 0x3A or 0xB7 or 0x387 or 0x5F4 or 0x2018 or 0x2019 or 0x2024 or 0x2027
            or 0xFE13 or 0xFE52 or 0xFE55 or 0xFF07 or 0xFF0E or 0xFF1A
        || Category(cp) is UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format
            or UnicodeCategory.ModifierLetter or UnicodeCategory.ModifierSymbol;

    /// <summary>str.split() with no argument: runs of whitespace separate, no empty pieces.</summary>
    public static List<int[]> Split(int[] s)
    {
        var pieces = new List<int[]>();
        int start = -1;
        for (int i = 0; i <= s.Length; i++)
        {
            bool space = i == s.Length || IsSpace(s[i]);
            if (space && start >= 0) { pieces.Add(s[start..i]); start = -1; }
            else if (!space && start < 0) start = i;
        }
        return pieces;
    }

    /// <summary>str.split() as strings.</summary>
    public static List<string> SplitWhitespace(string s) => Split(CodePoints(s)).ConvertAll(p => FromCodePoints(p));

    /// <summary>str.strip() with no argument.</summary>
    public static string Strip(string s)
    {
        int[] cps = CodePoints(s);
        int a = 0, b = cps.Length;
        while (a < b && IsSpace(cps[a])) a++;
        while (b > a && IsSpace(cps[b - 1])) b--;
        return a == 0 && b == cps.Length ? s : FromCodePoints(cps[a..b]);
    }

    /// <summary>
    /// <c>re.sub(r'\b(w1|w2|...)\b', ' ', text)</c>: scan left to right, try the alternatives in order at each
    /// position, replace each non-overlapping match with one space. Boundaries are judged on the original text.
    /// </summary>
    public static int[] ReplaceWholeWords(int[] text, int[][] words)
    {
        var result = new List<int>(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            int matched = Boundary(text, i) ? MatchAny(text, i, words) : 0;
            if (matched > 0) { result.Add(' '); i += matched; }
            else result.Add(text[i++]);
        }
        return [.. result];
    }

    static int MatchAny(int[] text, int at, int[][] words)
    {
        foreach (int[] w in words)
            if (at + w.Length <= text.Length && text.AsSpan(at, w.Length).SequenceEqual(w) && Boundary(text, at + w.Length))
                return w.Length;
        return 0;
    }

    static bool Boundary(int[] s, int i)
    {
        bool before = i > 0 && IsWordChar(s[i - 1]);
        bool after = i < s.Length && IsWordChar(s[i]);
        return before != after;
    }

    /// <summary>Plain substring replacement of every non-overlapping occurrence, left to right.</summary>
    public static int[] ReplaceAll(int[] text, int[] needle, int replacement)
    {
        var result = new List<int>(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            if (i + needle.Length <= text.Length && text.AsSpan(i, needle.Length).SequenceEqual(needle))
            {
                result.Add(replacement);
                i += needle.Length;
            }
            else result.Add(text[i++]);
        }
        return [.. result];
    }
}
