using Stilts.Models;
using Stilts.Tasks.TextToText;
using Stilts.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Inference;

/// <summary>One generated output: HF's sequence (decoder start first, up to and including eos) and its decoded text.</summary>
public sealed record GeneratedText(int[] Ids, string Text);

/// <summary>Batched greedy generation from texts, as <c>stilts generate</c> runs it.</summary>
public static class TextGeneration
{
    /// <summary>
    /// Greedy outputs for each text, in order. Texts are encoded with the tokenizer's truncation to its model
    /// maximum, batched (padded on the right) and decoded without special tokens. Batching does not change the
    /// ids: each row is cut after its eos, so it equals the single-text result. <paramref name="allowed"/>, when
    /// given, restricts every output to one of its sequences.
    /// </summary>
    public static List<GeneratedText> Generate(T5ForConditionalGeneration model, TextTokenizer tokenizer, IReadOnlyList<string> texts,
        int maxNewTokens = 20, int batchSize = 16, Device? device = null, SequenceTrie? allowed = null)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize));
        var results = new List<GeneratedText>(texts.Count);
        for (int start = 0; start < texts.Count; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var chunk = texts.Skip(start).Take(batchSize).ToList();
            var (ids, mask) = TextToTextFeaturizer.EncodeTexts(tokenizer, chunk, tokenizer.ModelMaxLength, device);
            var generated = allowed is null
                ? model.Generate(ids, mask, maxNewTokens)
                : ConstrainedDecoding.Generate(model, ids, mask, allowed, maxNewTokens);
            foreach (var row in ConstrainedDecoding.Rows(generated, model.Config))
            {
                int[] sequence = [model.Config.DecoderStartTokenId, .. row];
                results.Add(new GeneratedText(sequence, tokenizer.Decode(row, skipSpecialTokens: true)));
            }
        }
        return results;
    }
}
