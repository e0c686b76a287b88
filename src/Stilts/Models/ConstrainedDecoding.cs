using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Models;

/// <summary>
/// A prefix trie over token-id sequences (e.g. the tokenized label strings of a task, each ending in eos): which
/// ids may follow a given prefix.
/// </summary>
public sealed class SequenceTrie
{
    sealed class Node
    {
        public readonly SortedDictionary<int, Node> Children = [];
        public bool IsEnd;
    }

    readonly Node _root = new();

    /// <summary>Number of distinct sequences.</summary>
    public int Count { get; private set; }

    /// <summary>Length of the longest sequence: the most tokens a constrained decode can need.</summary>
    public int MaxLength { get; private set; }

    SequenceTrie() { }

    /// <summary>A trie of the given sequences; an empty sequence or an empty set is rejected.</summary>
    public static SequenceTrie Create(IEnumerable<IReadOnlyList<int>> sequences)
    {
        var trie = new SequenceTrie();
        foreach (var seq in sequences)
        {
            if (seq.Count == 0) throw new ArgumentException("an allowed sequence is empty", nameof(sequences));
            var node = trie._root;
            foreach (int id in seq)
            {
                if (!node.Children.TryGetValue(id, out var child)) node.Children[id] = child = new Node();
                node = child;
            }
            if (!node.IsEnd) trie.Count++;
            node.IsEnd = true;
            trie.MaxLength = Math.Max(trie.MaxLength, seq.Count);
        }
        if (trie.Count == 0) throw new ArgumentException("no allowed sequences", nameof(sequences));
        return trie;
    }

    /// <summary>The ids that may follow <paramref name="prefix"/>; empty when it is no prefix of any sequence or a complete leaf.</summary>
    public IReadOnlyCollection<int> Next(ReadOnlySpan<long> prefix)
    {
        var node = _root;
        foreach (long id in prefix)
            if (!node.Children.TryGetValue((int)id, out node!)) return [];
        return node.Children.Keys;
    }

    /// <summary>Whether <paramref name="sequence"/> is one of the sequences (not merely a prefix).</summary>
    public bool Contains(IEnumerable<int> sequence)
    {
        var node = _root;
        foreach (int id in sequence)
            if (!node.Children.TryGetValue(id, out node!)) return false;
        return node.IsEnd;
    }
}

/// <summary>
/// Greedy decoding restricted to a set of sequences (a task's label strings): at each step every token that does
/// not continue one of them is masked out, so the output is always one of the set. Built on the logits hook of
/// <see cref="T5ForConditionalGeneration.Generate"/>.
/// </summary>
public static class ConstrainedDecoding
{
    /// <summary>
    /// Greedy generation whose rows each spell one of the trie's sequences (which should end in eos, as a T5
    /// tokenizer's encodings do; a row that completes a sequence without eos is forced to eos next).
    /// Returns (B, 1 + steps) ids like Generate: decoder start first, pad after eos.
    /// </summary>
    public static Tensor Generate(T5ForConditionalGeneration model, Tensor inputIds, Tensor? attentionMask, SequenceTrie allowed, int? maxNewTokens = null) =>
        model.Generate(inputIds, attentionMask, maxNewTokens ?? allowed.MaxLength, TrieProcessor(_ => allowed, model.Config.EosTokenId));

    /// <summary>As above with one trie per row (e.g. each multiple-choice example's own choices).</summary>
    public static Tensor Generate(T5ForConditionalGeneration model, Tensor inputIds, Tensor? attentionMask, IReadOnlyList<SequenceTrie> allowedPerRow, int? maxNewTokens = null)
    {
        if (allowedPerRow.Count != inputIds.size(0)) throw new ArgumentException("one trie per input row", nameof(allowedPerRow));
        return model.Generate(inputIds, attentionMask, maxNewTokens ?? allowedPerRow.Max(t => t.MaxLength), TrieProcessor(row => allowedPerRow[row], model.Config.EosTokenId));
    }

    /// <summary>The logits hook: rows still decoding may only take ids that continue a sequence of their row's trie.</summary>
    public static Func<Tensor, Tensor, Tensor> TrieProcessor(Func<int, SequenceTrie> trieOfRow, int eosId) => (sequence, logits) =>
    {
        // The ids so far are few (label strings are short), so the trie walk runs on the host.
        long batch = sequence.size(0), width = sequence.size(1);
        var ids = sequence.cpu().data<long>().ToArray();
        var allowedMask = new bool[batch * logits.size(1)];
        long vocab = logits.size(1);
        for (long row = 0; row < batch; row++)
        {
            var generated = new ReadOnlySpan<long>(ids, (int)(row * width + 1), (int)(width - 1)); // after decoder start
            if (generated.Contains(eosId))
            {
                // Finished: Generate writes pad here whatever is chosen, so leave the row unconstrained.
                for (long v = 0; v < vocab; v++) allowedMask[row * vocab + v] = true;
                continue;
            }
            var next = trieOfRow((int)row).Next(generated);
            if (next.Count == 0) next = [eosId];
            foreach (int id in next)
                if (id >= 0 && id < vocab) allowedMask[row * vocab + id] = true;
        }
        var keep = tensor(allowedMask, [batch, vocab]).to(logits.device);
        return logits.masked_fill(keep.logical_not(), float.NegativeInfinity);
    };

    /// <summary>A hook that forbids some ids, e.g. eos, so a benchmark generates exactly the asked number of tokens.</summary>
    public static Func<Tensor, Tensor, Tensor> Suppress(params int[] ids) => (_, logits) =>
    {
        var index = tensor(ids.Select(i => (long)i).ToArray(), device: logits.device);
        return logits.index_fill(1, index, float.NegativeInfinity);
    };

    /// <summary>
    /// A hook that forbids the ids past the tokenizer's vocabulary (mT5 pads its embedding matrix to a multiple of
    /// 128; those rows are never trained and have no text, but an undertrained model can still pick them).
    /// </summary>
    public static Func<Tensor, Tensor, Tensor> WithinVocabulary(int tokenizerVocabSize) => (_, logits) =>
        logits.size(-1) <= tokenizerVocabSize ? logits : logits.index_fill(1,
            arange(tokenizerVocabSize, logits.size(-1), dtype: ScalarType.Int64, device: logits.device), float.NegativeInfinity);

    /// <summary>Generated rows (B, 1 + steps) to id lists without the decoder start, and cut at eos (kept) / pad.</summary>
    public static List<int[]> Rows(Tensor generated, T5Config config)
    {
        long batch = generated.size(0), width = generated.size(1);
        var ids = generated.cpu().data<long>().ToArray();
        var rows = new List<int[]>((int)batch);
        for (long r = 0; r < batch; r++)
        {
            var row = new List<int>();
            for (long c = 1; c < width; c++)
            {
                int id = (int)ids[r * width + c];
                row.Add(id);
                if (id == config.EosTokenId) break;
            }
            rows.Add([.. row]);
        }
        return rows;
    }
}

/// <summary>
/// Teacher-forced scoring of candidate targets (multiple choice by likelihood, as the mT5 paper does): the summed
/// log-probability of each candidate's ids given the input.
/// </summary>
public static class SequenceScoring
{
    /// <summary>
    /// Sum over target positions of log p(target[t] | input, target[..t]) for each row: inputIds (N, T) with
    /// attentionMask, targets[n] the label ids of row n (e.g. a choice text plus eos). Runs in one batch.
    /// </summary>
    public static double[] LogLikelihoods(T5ForConditionalGeneration model, Tensor inputIds, Tensor attentionMask, IReadOnlyList<int[]> targets)
    {
        if (targets.Count != inputIds.size(0)) throw new ArgumentException("one target per input row", nameof(targets));
        if (targets.Any(t => t.Length == 0)) throw new ArgumentException("a target is empty", nameof(targets));
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        int width = targets.Max(t => t.Length);
        var flat = new long[targets.Count * width];
        for (int n = 0; n < targets.Count; n++)
            for (int t = 0; t < width; t++)
                flat[n * width + t] = t < targets[n].Length ? targets[n][t] : -100;
        var labels = tensor(flat, [targets.Count, width]).to(inputIds.device);
        using var output = model.Forward(inputIds, attentionMask, labels: labels);
        var logProbs = nn.functional.log_softmax(output.Logits.to(ScalarType.Float32), -1);  // (N, Td, V)
        var real = labels.ne(-100);
        var picked = logProbs.gather(2, labels.clamp_min(0).unsqueeze(-1)).squeeze(-1);  // (N, Td)
        var sums = picked.masked_fill(real.logical_not(), 0).sum(1).to(ScalarType.Float64).cpu();
        return sums.data<double>().ToArray();
    }

    /// <summary>
    /// Picks, for each example, the candidate with the highest summed log-likelihood: inputIds (B, T) are repeated
    /// once per candidate of their example. Returns the chosen index and all scores per example.
    /// </summary>
    public static (int Best, double[] Scores)[] Choose(T5ForConditionalGeneration model, Tensor inputIds, Tensor attentionMask, IReadOnlyList<IReadOnlyList<int[]>> candidates)
    {
        if (candidates.Count != inputIds.size(0)) throw new ArgumentException("one candidate list per input row", nameof(candidates));
        using var scope = NewDisposeScope();
        var rowOf = candidates.SelectMany((c, i) => Enumerable.Repeat((long)i, c.Count)).ToArray();
        var index = tensor(rowOf, device: inputIds.device);
        var scores = LogLikelihoods(model, inputIds.index_select(0, index), attentionMask.index_select(0, index),
            [.. candidates.SelectMany(c => c)]);
        var result = new (int, double[])[candidates.Count];
        int k = 0;
        for (int i = 0; i < candidates.Count; i++)
        {
            var s = scores[k..(k + candidates[i].Count)];
            k += candidates[i].Count;
            result[i] = (Array.IndexOf(s, s.Max()), s);
        }
        return result;
    }
}
