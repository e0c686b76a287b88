using Stilts.Tokenization;

namespace Stilts.Tasks.TextToText;

/// <summary>
/// Generated text back to each task's prediction type, so text-to-text models are scored by the same metrics as
/// encoder models: a label string, an answer text, IOB2 tags over the original words, a choice index.
/// </summary>
public static class TextToTextDecoder
{
    /// <summary>The label the text names, or null when it names none (counts as wrong).</summary>
    public static string? Label(Verbalizer v, string generated) => v.LabelOf(generated);

    /// <summary>Index into <see cref="Verbalizer.Labels"/>, or -1 when the text names no label.</summary>
    public static int LabelIndex(Verbalizer v, string generated) =>
        Label(v, generated) is { } label ? v.Labels.ToList().IndexOf(label) : -1;

    public static string Answer(string generated) => generated.Trim();

    /// <summary>
    /// An entity list ("PER: John Smith $$ LOC: Paris") to one IOB2 tag per word. Each entity is matched to the
    /// first run of words equal to its text that starts after the previous match (else anywhere) and does not
    /// overlap an entity already placed; entities of unknown types, or whose words are not found, are dropped.
    /// </summary>
    /// <param name="normalize">
    /// Maps a sentence word to how the model would spell it: a tokenizer round trip (see <see cref="RoundTrip"/>),
    /// since SentencePiece generates NFKC-normalized text; null compares words as they are.
    /// </param>
    public static string[] EntityTags(Verbalizer v, IReadOnlyList<string> words, string generated, Func<string, string>? normalize = null)
    {
        if (normalize != null) words = [.. words.Select(normalize)];
        var tags = Enumerable.Repeat("O", words.Count).ToArray();
        var types = v.Labels.Where(l => l.Length > 2 && l[1] == '-').Select(l => l[2..]).ToHashSet(StringComparer.Ordinal);
        string separator = v.EntitySeparator.Trim();
        int cursor = 0;
        foreach (var part in generated.Split(separator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int colon = part.IndexOf(':');
            if (colon <= 0) continue;
            string type = part[..colon].Trim();
            var entity = part[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (entity.Length == 0 || !types.Contains(type)) continue;
            int at = Find(words, entity, tags, cursor);
            if (at < 0) at = Find(words, entity, tags, 0);
            if (at < 0) continue;
            tags[at] = "B-" + type;
            for (int k = 1; k < entity.Length; k++) tags[at + k] = "I-" + type;
            cursor = at + entity.Length;
        }
        return tags;
    }

    /// <summary>
    /// A space-separated tag sequence to exactly one tag per word: extra tags are dropped, and missing or unknown
    /// ones become <paramref name="fallback"/> (default: "X" when it is a label, else the first label).
    /// </summary>
    public static string[] TagSequence(Verbalizer v, int wordCount, string generated, string? fallback = null)
    {
        fallback ??= v.Labels.Contains("X") ? "X" : v.Labels.FirstOrDefault() ?? "O";
        var labels = v.Labels.ToHashSet(StringComparer.Ordinal);
        var said = generated.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return [.. Enumerable.Range(0, wordCount).Select(i => i < said.Length && labels.Contains(said[i]) ? said[i] : fallback)];
    }

    /// <summary>Tags of a tagging example from generated text, by the verbalizer's target form.</summary>
    public static string[] Tags(Verbalizer v, IReadOnlyList<string> words, string generated, Func<string, string>? normalize = null) => v.Target == TargetForm.EntityList
        ? EntityTags(v, words, generated, normalize)
        : TagSequence(v, words.Count, generated);

    /// <summary>A word as the tokenizer gives it back (pieces decoded): what a generated entity would read.</summary>
    public static Func<string, string> RoundTrip(TextTokenizer tokenizer) => word => tokenizer.Decode(tokenizer.Tokenize(word).Ids, skipSpecialTokens: true);

    /// <summary>
    /// The choice a generated text names: an exact (trimmed, case-insensitive) match, else the choice sharing the
    /// largest fraction of words with it (word F1), else -1.
    /// </summary>
    public static int Choice(IReadOnlyList<string> choices, string generated)
    {
        string text = generated.Trim();
        for (int i = 0; i < choices.Count; i++)
            if (string.Equals(choices[i].Trim(), text, StringComparison.OrdinalIgnoreCase)) return i;
        var said = Words(text);
        int best = -1;
        double bestF1 = 0;
        for (int i = 0; i < choices.Count; i++)
        {
            var words = Words(choices[i]);
            int common = said.Intersect(words).Count();
            if (common == 0) continue;
            double p = (double)common / said.Count, r = (double)common / words.Count, f1 = 2 * p * r / (p + r);
            if (f1 > bestF1) (best, bestF1) = (i, f1);
        }
        return best;
    }

    static HashSet<string> Words(string s) =>
        s.ToLowerInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);

    static int Find(IReadOnlyList<string> words, string[] entity, string[] tags, int from)
    {
        for (int i = from; i + entity.Length <= words.Count; i++)
        {
            bool match = true;
            for (int k = 0; k < entity.Length && match; k++) match = words[i + k] == entity[k] && tags[i + k] == "O";
            if (match) return i;
        }
        return -1;
    }
}
