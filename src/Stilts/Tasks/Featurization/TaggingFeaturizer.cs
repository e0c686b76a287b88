using Stilts.Tokenization;

namespace Stilts.Tasks.Featurization;

/// <summary>
/// Token tagging (UD-POS, PAN-X, CCG) as xtreme does it: every word is tokenized on its own, its label goes on the
/// first subword and -100 on the rest and on special tokens. A sentence whose subwords do not fit is split at word
/// boundaries into several features (xtreme's udpos/panx "tokenize" pass) instead of being truncated, and
/// <see cref="MergePredictions"/> puts the per-word predictions back together in sentence order.
/// </summary>
public static class TaggingFeaturizer
{
    /// <summary>Features of many sentences; sentence i keeps index i in <see cref="TaggingFeature.SentenceIndex"/>.</summary>
    /// <param name="labels">Per-word label indices, or null for unlabeled data (all labels -100).</param>
    public static List<TaggingFeature> Featurize(
        TextTokenizer tokenizer, IReadOnlyList<IReadOnlyList<string>> sentences,
        IReadOnlyList<IReadOnlyList<int>>? labels, int maxLength)
    {
        if (labels != null && labels.Count != sentences.Count)
            throw new InvalidInputException("labels", $"{labels.Count} label rows for {sentences.Count} sentences");
        var features = new List<TaggingFeature>();
        for (int s = 0; s < sentences.Count; s++)
            features.AddRange(FeaturizeSentence(tokenizer, s, sentences[s], labels?[s], maxLength));
        return features;
    }

    /// <summary>One sentence, split into as many features as its subwords need. An empty sentence gives one feature with no words.</summary>
    public static List<TaggingFeature> FeaturizeSentence(
        TextTokenizer tokenizer, int sentenceIndex, IReadOnlyList<string> words, IReadOnlyList<int>? labels, int maxLength)
    {
        if (labels != null && labels.Count != words.Count)
            throw new InvalidInputException($"sentence {sentenceIndex}", $"{labels.Count} labels for {words.Count} words");
        int budget = maxLength - tokenizer.NumSpecialTokens(pair: false);
        if (budget < 1) throw new InvalidInputException("max_length", $"{maxLength} leaves no room for words after the special tokens");

        var pieces = new int[words.Count][];
        for (int w = 0; w < words.Count; w++)
        {
            var ids = tokenizer.Tokenize(words[w]).Ids;
            // xtreme: a word that tokenizes to nothing (e.g. a lone zero-width or control character) becomes <unk>,
            // so every word keeps a position to carry its label and prediction.
            if (ids.Length == 0) ids = [tokenizer.Special.UnkId];
            // A single word longer than a whole window keeps its first `budget` pieces: only the first carries the
            // label, so no word is lost; only label-less continuation pieces are cut.
            if (ids.Length > budget) ids = ids[..budget];
            pieces[w] = ids;
        }

        var features = new List<TaggingFeature>();
        int start = 0;
        do
        {
            int end = start, used = 0;
            while (end < words.Count && used + pieces[end].Length <= budget) used += pieces[end++].Length;
            features.Add(Build(tokenizer, sentenceIndex, start, end, pieces, labels));
            start = end;
        } while (start < words.Count);
        return features;
    }

    static TaggingFeature Build(TextTokenizer tokenizer, int sentence, int from, int to, int[][] pieces, IReadOnlyList<int>? labels)
    {
        var flat = new List<int>();
        var pieceLabels = new List<int>();
        var isWordStart = new List<bool>();
        for (int w = from; w < to; w++)
            for (int p = 0; p < pieces[w].Length; p++)
            {
                flat.Add(pieces[w][p]);
                pieceLabels.Add(p == 0 && labels != null ? labels[w] : Labels.Ignore);
                isWordStart.Add(p == 0);
            }
        var (ids, typeIds, seqIds) = tokenizer.BuildInputs(flat, null);
        var tokenLabels = new int[ids.Length];
        Array.Fill(tokenLabels, Labels.Ignore);
        var starts = new int[to - from];
        int piece = 0, word = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            if (seqIds[i] != 0) continue;
            tokenLabels[i] = pieceLabels[piece];
            if (isWordStart[piece]) starts[word++] = i;
            piece++;
        }
        return new TaggingFeature(ids, ClassificationFeaturizer.Ones(ids.Length), typeIds, tokenLabels, sentence, from, starts);
    }

    /// <summary>
    /// Per-sentence word predictions from per-feature token predictions (predictions[f][t] = predicted label of token t
    /// of feature f, padding allowed). Pieces of one sentence are joined in word order; sentences come back in index
    /// order, 0 ... max index, and every word of every sentence must be covered.
    /// </summary>
    public static int[][] MergePredictions(IReadOnlyList<TaggingFeature> features, IReadOnlyList<IReadOnlyList<int>> predictions)
    {
        if (features.Count != predictions.Count)
            throw new InvalidInputException("predictions", $"{predictions.Count} prediction rows for {features.Count} features");
        int sentences = features.Count == 0 ? 0 : features.Max(f => f.SentenceIndex) + 1;
        var wordCount = new int[sentences];
        foreach (var f in features)
            wordCount[f.SentenceIndex] = Math.Max(wordCount[f.SentenceIndex], f.FirstWord + f.WordStarts.Length);
        var merged = new int[sentences][];
        var seen = new bool[sentences][];
        for (int s = 0; s < sentences; s++) (merged[s], seen[s]) = (new int[wordCount[s]], new bool[wordCount[s]]);
        for (int i = 0; i < features.Count; i++)
        {
            var f = features[i];
            for (int k = 0; k < f.WordStarts.Length; k++)
            {
                merged[f.SentenceIndex][f.FirstWord + k] = predictions[i][f.WordStarts[k]];
                seen[f.SentenceIndex][f.FirstWord + k] = true;
            }
        }
        for (int s = 0; s < sentences; s++)
        {
            int missing = Array.IndexOf(seen[s], false);
            if (missing >= 0) throw new InvalidInputException("predictions", $"sentence {s} word {missing} is in no feature");
        }
        return merged;
    }
}
