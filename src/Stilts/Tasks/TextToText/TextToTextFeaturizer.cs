using Stilts.Tasks.Featurization;
using Stilts.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Tasks.TextToText;

/// <summary>
/// One text-to-text row: input ids with the tokenizer's special tokens (T5: text &lt;/s&gt;), target ids (also ending
/// in &lt;/s&gt;; empty when unlabelled), and for multiple choice the ids of every choice as a target.
/// </summary>
public sealed record TextToTextFeature(int[] InputIds, int[] LabelIds, IReadOnlyList<int[]> ChoiceIds);

/// <summary>A padded batch: inputs padded with pad id (mask 0), labels with -100 so the loss ignores them.</summary>
public sealed class TextToTextBatch : IDisposable
{
    public required Tensor InputIds { get; init; }
    public required Tensor AttentionMask { get; init; }
    /// <summary>(B, Td), or null when no row has a target.</summary>
    public Tensor? Labels { get; init; }

    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        Labels?.Dispose();
    }
}

/// <summary>Tokenizes text-to-text examples with truncation (input and target separately) and pads batches.</summary>
public static class TextToTextFeaturizer
{
    public static TextToTextFeature Featurize(TextTokenizer tokenizer, TextToTextExample example, int maxInputLength, int maxTargetLength)
    {
        var input = tokenizer.Encode(example.Input, options: new EncodeOptions { MaxLength = maxInputLength }).Ids;
        var target = example.Target is null ? [] : Target(tokenizer, example.Target, maxTargetLength);
        return new TextToTextFeature(input, target, [.. example.Choices.Select(c => Target(tokenizer, c, maxTargetLength))]);
    }

    /// <summary>A target's ids: the text's pieces cut to fit, then the tokenizer's end token.</summary>
    public static int[] Target(TextTokenizer tokenizer, string text, int maxTargetLength) =>
        tokenizer.Encode(text, options: new EncodeOptions { MaxLength = maxTargetLength }).Ids;

    public static TextToTextBatch Collate(IReadOnlyList<TextToTextFeature> rows, int padId, Device? device = null)
    {
        if (rows.Count == 0) throw new ArgumentException("an empty batch", nameof(rows));
        int width = rows.Max(r => r.InputIds.Length);
        var ids = Collator.Pad([.. rows.Select(r => r.InputIds)], width, padId);
        var mask = Collator.Pad([.. rows.Select(r => Enumerable.Repeat(1, r.InputIds.Length).ToArray())], width, 0);
        Tensor? labels = null;
        if (rows.Any(r => r.LabelIds.Length > 0))
        {
            int target = rows.Max(r => r.LabelIds.Length);
            labels = tensor(Collator.Pad([.. rows.Select(r => r.LabelIds)], target, Featurization.Labels.Ignore), [rows.Count, target], device: device);
        }
        return new TextToTextBatch
        {
            InputIds = tensor(ids, [rows.Count, width], device: device),
            AttentionMask = tensor(mask, [rows.Count, width], device: device),
            Labels = labels,
        };
    }

    /// <summary>Input ids of texts, padded, for generation or pooled encodings: (ids, mask) of shape (B, T).</summary>
    public static (Tensor InputIds, Tensor AttentionMask) EncodeTexts(TextTokenizer tokenizer, IReadOnlyList<string> texts, int maxLength, Device? device = null)
    {
        var rows = texts.Select(t => new TextToTextFeature(tokenizer.Encode(t, options: new EncodeOptions { MaxLength = maxLength }).Ids, [], [])).ToList();
        var batch = Collate(rows, tokenizer.Special.PadId, device);
        return (batch.InputIds, batch.AttentionMask);
    }
}
