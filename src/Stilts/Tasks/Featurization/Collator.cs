using Stilts.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Tasks.Featurization;

/// <summary>
/// One padded batch on the CPU as int64 tensors: InputIds/AttentionMask/TokenTypeIds are (B, T), or (B, C, T) for
/// multiple choice. Labels are (B) for classification and multiple choice, (B, T) for tagging and masked LM; QA
/// uses StartPositions/EndPositions (B). Dispose it (or create it inside a dispose scope).
/// </summary>
public sealed class Batch : IDisposable
{
    public required Tensor InputIds { get; init; }
    public required Tensor AttentionMask { get; init; }
    public required Tensor TokenTypeIds { get; init; }
    public Tensor? Labels { get; init; }
    public Tensor? StartPositions { get; init; }
    public Tensor? EndPositions { get; init; }

    public void Dispose()
    {
        InputIds.Dispose(); AttentionMask.Dispose(); TokenTypeIds.Dispose();
        Labels?.Dispose(); StartPositions?.Dispose(); EndPositions?.Dispose();
    }
}

/// <summary>
/// Dynamic padding to the longest row of the batch (HF DataCollatorWithPadding): ids padded with the tokenizer's pad
/// id, attention mask and type ids with 0, token labels with -100. Padding is done on the host, then one tensor per field.
/// </summary>
public sealed class Collator(int padId, int padTypeId = 0)
{
    public int PadId { get; } = padId;
    public int PadTypeId { get; } = padTypeId;

    public static Collator For(TextTokenizer tokenizer) => new(tokenizer.Special.PadId);

    public Batch Classification(IReadOnlyList<ClassificationFeature> rows) => Rows(
        rows.Select(r => r.InputIds).ToList(), rows.Select(r => r.AttentionMask).ToList(),
        rows.Select(r => r.TokenTypeIds).ToList(), Vector(rows.Select(r => r.Label)), null, null);

    public Batch Tagging(IReadOnlyList<TaggingFeature> rows)
    {
        int width = Longest(rows.Select(r => r.InputIds));
        var labels = Pad(rows.Select(r => r.Labels).ToList(), width, Featurization.Labels.Ignore);
        return Rows(rows.Select(r => r.InputIds).ToList(), rows.Select(r => r.AttentionMask).ToList(),
            rows.Select(r => r.TokenTypeIds).ToList(), Matrix(labels, rows.Count, width), null, null);
    }

    public Batch SpanQa(IReadOnlyList<SpanQaFeature> rows) => Rows(
        rows.Select(r => r.InputIds).ToList(), rows.Select(r => r.AttentionMask).ToList(),
        rows.Select(r => r.TokenTypeIds).ToList(), null,
        Vector(rows.Select(r => r.StartPosition)), Vector(rows.Select(r => r.EndPosition)));

    /// <summary>Masked-LM rows from <see cref="MaskedLanguageModeling.Mask(MaskedLmFeature, TextTokenizer, MaskingOptions, Random)"/>.</summary>
    public Batch MaskedLm(IReadOnlyList<(int[] InputIds, int[] Labels)> rows)
    {
        var ids = rows.Select(r => r.InputIds).ToList();
        int width = Longest(ids);
        var masks = ids.Select(r => ClassificationFeaturizer.Ones(r.Length)).ToList();
        var types = ids.Select(r => new int[r.Length]).ToList();
        var labels = Pad(rows.Select(r => r.Labels).ToList(), width, Featurization.Labels.Ignore);
        return Rows(ids, masks, types, Matrix(labels, rows.Count, width), null, null);
    }

    /// <summary>(B, C, T) with T the longest row over all examples and choices; every example needs the same C.</summary>
    public Batch MultipleChoice(IReadOnlyList<MultipleChoiceFeature> rows)
    {
        if (rows.Count == 0) throw new InvalidInputException("batch", "an empty batch cannot be collated");
        int choices = rows[0].NumChoices;
        if (rows.Any(r => r.NumChoices != choices))
            throw new InvalidInputException("batch", "multiple-choice examples in one batch must have the same number of choices");
        int width = Longest(rows.SelectMany(r => r.InputIds));
        long[] shape = [rows.Count, choices, width];
        return new Batch
        {
            InputIds = torch.tensor(Pad(rows.SelectMany(r => r.InputIds).ToList(), width, PadId), shape),
            AttentionMask = torch.tensor(Pad(rows.SelectMany(r => r.AttentionMask).ToList(), width, 0), shape),
            TokenTypeIds = torch.tensor(Pad(rows.SelectMany(r => r.TokenTypeIds).ToList(), width, PadTypeId), shape),
            Labels = Vector(rows.Select(r => r.Label)),
        };
    }

    Batch Rows(List<int[]> ids, List<int[]> masks, List<int[]> types, Tensor? labels, Tensor? starts, Tensor? ends)
    {
        if (ids.Count == 0) throw new InvalidInputException("batch", "an empty batch cannot be collated");
        int width = Longest(ids);
        return new Batch
        {
            InputIds = Matrix(Pad(ids, width, PadId), ids.Count, width),
            AttentionMask = Matrix(Pad(masks, width, 0), ids.Count, width),
            TokenTypeIds = Matrix(Pad(types, width, PadTypeId), ids.Count, width),
            Labels = labels, StartPositions = starts, EndPositions = ends,
        };
    }

    /// <summary>Row-major (rows.Count × width) values, each row right-padded with <paramref name="pad"/>.</summary>
    public static long[] Pad(IReadOnlyList<int[]> rows, int width, int pad)
    {
        var flat = new long[rows.Count * width];
        Array.Fill(flat, pad);
        for (int r = 0; r < rows.Count; r++)
        {
            if (rows[r].Length > width) throw new ArgumentException($"row {r} is longer than {width}");
            for (int t = 0; t < rows[r].Length; t++) flat[r * width + t] = rows[r][t];
        }
        return flat;
    }

    static int Longest(IEnumerable<int[]> rows) => rows.Select(r => r.Length).DefaultIfEmpty(0).Max();
    static Tensor Matrix(long[] flat, int rows, int width) => torch.tensor(flat, [rows, width]);
    static Tensor Vector(IEnumerable<int> values) => torch.tensor(values.Select(v => (long)v).ToArray());
}
