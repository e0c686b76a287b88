using Stilts.Models;
using Stilts.Tasks.TextToText;
using Stilts.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Retrieval;

/// <summary>
/// Sentence vectors from an mT5 encoder for the retrieval tasks (BUCC, Tatoeba, LAReQA, Mewsli-X): the mean of the
/// encoder's last states over real tokens, computed in padded batches. Feed the result to <see cref="KnnSearch"/>.
/// </summary>
public static class T5SentenceVectors
{
    /// <summary>
    /// (N, D) float32 vectors on the CPU, one per text in order. Texts are sorted by length before batching so
    /// padding stays small; each text is cut to <paramref name="maxLength"/> tokens (its &lt;/s&gt; included).
    /// </summary>
    public static Tensor Encode(Func<Tensor, Tensor, Tensor> meanPooled, TextTokenizer tokenizer, IReadOnlyList<string> texts,
        int batchSize = 32, int maxLength = 128, Device? device = null)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize));
        if (texts.Count == 0) throw new ArgumentException("no texts", nameof(texts));
        using var noGrad = no_grad();
        var lengths = texts.Select(t => tokenizer.Encode(t, options: new EncodeOptions { MaxLength = maxLength }).Length).ToArray();
        var order = Enumerable.Range(0, texts.Count).OrderBy(i => lengths[i]).ToArray();
        var parts = new List<Tensor>();
        for (int start = 0; start < order.Length; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var chunk = order.Skip(start).Take(batchSize).Select(i => texts[i]).ToList();
            var (ids, mask) = TextToTextFeaturizer.EncodeTexts(tokenizer, chunk, maxLength, device);
            parts.Add(meanPooled(ids, mask).to(ScalarType.Float32).cpu().MoveToOuterDisposeScope());
        }
        using var sorted = cat(parts, 0);
        foreach (var p in parts) p.Dispose();
        // Row k of sorted belongs to text order[k]; scatter it back to the caller's order.
        using var back = tensor(order.Select(i => (long)i).ToArray());
        var result = zeros_like(sorted);
        result.index_copy_(0, back, sorted);
        return result;
    }

    public static Tensor Encode(T5EncoderModel model, TextTokenizer tokenizer, IReadOnlyList<string> texts, int batchSize = 32, int maxLength = 128, Device? device = null) =>
        Encode(model.EncodeMeanPooled, tokenizer, texts, batchSize, maxLength, device);

    public static Tensor Encode(T5ForConditionalGeneration model, TextTokenizer tokenizer, IReadOnlyList<string> texts, int batchSize = 32, int maxLength = 128, Device? device = null) =>
        Encode(model.EncodeMeanPooled, tokenizer, texts, batchSize, maxLength, device);
}
