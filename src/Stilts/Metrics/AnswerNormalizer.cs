namespace Stilts.Metrics;

/// <summary>
/// Answer normalisation of the official QA scripts. <see cref="Squad"/> is SQuAD v1.1/v2.0 (used for XQuAD and
/// TyDiQA-GoldP): lowercase, drop ASCII punctuation, drop English a/an/the, collapse whitespace.
/// <see cref="Mlqa"/> is evaluate_mlqa.py: Unicode P* punctuation, per-language articles, and for Chinese a mixed
/// segmentation where every CJK ideograph is its own token.
/// </summary>
public sealed class AnswerNormalizer
{
    enum Segmentation { Whitespace, MixedCjk }

    readonly Func<int, bool> _isPunctuation;
    readonly Func<int[], int[]> _removeArticles;
    readonly Segmentation _segmentation;

    AnswerNormalizer(string name, Func<int, bool> isPunctuation, Func<int[], int[]> removeArticles, Segmentation segmentation)
    {
        Name = name;
        _isPunctuation = isPunctuation;
        _removeArticles = removeArticles;
        _segmentation = segmentation;
    }

    /// <summary>"squad" or "mlqa-&lt;lang&gt;"; for messages.</summary>
    public string Name { get; }

    public static AnswerNormalizer Squad { get; } =
        new("squad", PythonText.IsAsciiPunctuation, t => PythonText.ReplaceWholeWords(t, Words("a", "an", "the")), Segmentation.Whitespace);

    /// <summary>The languages evaluate_mlqa.py knows; any other raises there, and here.</summary>
    public static IReadOnlyList<string> MlqaLanguages { get; } = ["en", "es", "hi", "vi", "de", "ar", "zh"];

    public static AnswerNormalizer Mlqa(string language)
    {
        Func<int, bool> punct = cp => PythonText.IsUnicodePunctuation(cp) || PythonText.IsAsciiPunctuation(cp);
        Func<int[], int[]> articles = language switch
        {
            "en" => t => PythonText.ReplaceWholeWords(t, Words("a", "an", "the")),
            "es" => t => PythonText.ReplaceWholeWords(t, Words("un", "una", "unos", "unas", "el", "la", "los", "las")),
            "vi" => t => PythonText.ReplaceWholeWords(t, Words("c\u1EE7a", "l\u00E0", "c\u00E1i", "chi\u1EBFc", "nh\u1EEFng")),
            "de" => t => PythonText.ReplaceWholeWords(t,
                Words("ein", "eine", "einen", "einem", "eines", "einer", "der", "die", "das", "den", "dem", "des")),
            // The script's pattern is '\sال^|ال'; its first branch can never match ('^' after two characters),
            // so every occurrence of the definite-article letters alef-lam becomes a space, even inside words.
            "ar" => t => PythonText.ReplaceAll(t, PythonText.CodePoints("\u0627\u0644"), ' '),
            "hi" or "zh" => t => t,
            _ => throw new ArgumentException(
                $"MLQA has no normaliser for language '{language}' (known: {string.Join(", ", MlqaLanguages)})", nameof(language)),
        };
        return new("mlqa-" + language, punct, articles, language == "zh" ? Segmentation.MixedCjk : Segmentation.Whitespace);
    }

    static int[][] Words(params string[] words) => Array.ConvertAll(words, PythonText.CodePoints);

    /// <summary>The normalised answer string the scripts compare for exact match.</summary>
    public string Normalize(string text) => string.Join(' ', Tokens(text));

    /// <summary>normalize_answer(text).split(): the tokens F1 counts.</summary>
    public IReadOnlyList<string> Tokens(string text)
    {
        int[] s = PythonText.Lower(PythonText.CodePoints(text));
        s = Array.FindAll(s, cp => !_isPunctuation(cp));
        s = _removeArticles(s);
        return _segmentation == Segmentation.MixedCjk ? MixedSegmentation(s) : PythonText.Split(s).ConvertAll(p => PythonText.FromCodePoints(p));
    }

    // Every ideograph in U+4E00..U+9FA5 is a token; runs of anything else are whitespace-split. Punctuation would
    // also be split off, but it is already gone at this point.
    static List<string> MixedSegmentation(int[] s)
    {
        var tokens = new List<string>();
        int runStart = 0;
        for (int i = 0; i <= s.Length; i++)
        {
            bool cjk = i < s.Length && s[i] is >= 0x4E00 and <= 0x9FA5;
            if (!cjk && i < s.Length) continue;
            foreach (int[] piece in PythonText.Split(s[runStart..i])) tokens.Add(PythonText.FromCodePoints(piece));
            if (cjk) tokens.Add(char.ConvertFromUtf32(s[i]));
            runStart = i + 1;
        }
        return tokens;
    }
}
