namespace Stilts.Tokenization;

/// <summary>How a pair (or an over-long single text) is cut down to the maximum length, as in HF transformers.</summary>
public enum TruncationStrategy { LongestFirst, OnlyFirst, OnlySecond, DoNotTruncate }

/// <summary>Options of one <see cref="TextTokenizer.Encode"/> call. MaxLength null = the tokenizer's model maximum.</summary>
public sealed record EncodeOptions
{
    public int? MaxLength { get; init; }
    public TruncationStrategy Truncation { get; init; } = TruncationStrategy.LongestFirst;
    public bool AddSpecialTokens { get; init; } = true;
    public static EncodeOptions Default { get; } = new();
}

/// <summary>
/// One encoded input. Offsets are [start, end) character ranges into the ORIGINAL text the token came from
/// (the first or the second text of a pair, see <see cref="SequenceIds"/>); special tokens get (0, 0).
/// SequenceIds is -1 for special tokens, 0 for tokens of the first text, 1 for the second.
/// Tokens are vocabulary entries (HF convert_ids_to_tokens), so an unknown SentencePiece run reads "&lt;unk&gt;"; its
/// offsets still cover the run. A token's span excludes the space its ▁ / Ġ marker stands for; special tokens typed
/// in the text (e.g. "&lt;mask&gt;") keep their own span.
/// </summary>
public sealed record Encoding(
    int[] Ids,
    string[] Tokens,
    (int Start, int End)[] Offsets,
    int[] TypeIds,
    int[] SequenceIds)
{
    public int Length => Ids.Length;
}

/// <summary>The family-specific names and ids of special tokens.</summary>
public sealed record SpecialTokens(
    string Pad, int PadId,
    string Unk, int UnkId,
    string? Cls, int? ClsId,
    string? Sep, int? SepId,
    string? Mask, int? MaskId,
    string? Bos = null, int? BosId = null,
    string? Eos = null, int? EosId = null);

/// <summary>Tokenizer families Stilts reads from a checkpoint folder.</summary>
public enum TokenizerKind { XlmRobertaSentencePiece, BertWordPiece, RobertaByteLevelBpe, T5SentencePiece }

/// <summary>
/// A model tokenizer: text to ids with original-text offsets, each family's special-token layout, truncation and
/// decoding. Featurizers (QA windows, first-subword tagging) tokenize pieces without special tokens and then call
/// <see cref="BuildInputs"/> so the layout stays the family's own.
/// </summary>
public abstract class TextTokenizer
{
    public abstract TokenizerKind Kind { get; }
    public abstract SpecialTokens Special { get; }
    /// <summary>Number of ids, special and added tokens included (HF len(tokenizer)).</summary>
    public abstract int VocabSize { get; }
    /// <summary>HF model_max_length: the default truncation length.</summary>
    public abstract int ModelMaxLength { get; }

    /// <summary>Tokens of one text with no special tokens and no truncation; offsets into <paramref name="text"/>.</summary>
    public abstract Encoding Tokenize(string text);

    /// <summary>Wraps already-tokenized ids in the family's special tokens: ids, type ids and sequence ids.</summary>
    public abstract (int[] Ids, int[] TypeIds, int[] SequenceIds) BuildInputs(IReadOnlyList<int> first, IReadOnlyList<int>? second);

    /// <summary>How many special tokens <see cref="BuildInputs"/> adds for a single text or a pair.</summary>
    public abstract int NumSpecialTokens(bool pair);

    public abstract string IdToToken(int id);
    public abstract int? TokenToId(string token);

    /// <summary>HF decode: pieces joined and detokenized; special tokens dropped when asked.</summary>
    public abstract string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false);

    /// <summary>Encodes a text or a pair with truncation and special tokens, like HF tokenizer(text, pair, truncation=True).</summary>
    public Encoding Encode(string text, string? pair = null, EncodeOptions? options = null)
    {
        options ??= EncodeOptions.Default;
        var a = Tokenize(text);
        var b = pair == null ? null : Tokenize(pair);
        int max = options.MaxLength ?? ModelMaxLength;
        int budget = max - (options.AddSpecialTokens ? NumSpecialTokens(b != null) : 0);
        int keepA = a.Length, keepB = b?.Length ?? 0;
        if (options.Truncation != TruncationStrategy.DoNotTruncate && keepA + keepB > budget)
            (keepA, keepB) = Truncate(keepA, keepB, Math.Max(budget, 0), b != null, options.Truncation);
        a = Slice(a, keepA);
        b = b == null ? null : Slice(b, keepB);
        if (!options.AddSpecialTokens) return b == null ? a : Concat(a, b);

        var (ids, typeIds, seqIds) = BuildInputs(a.Ids, b?.Ids);
        var tokens = new string[ids.Length];
        var offsets = new (int, int)[ids.Length];
        int ia = 0, ib = 0;
        for (int i = 0; i < ids.Length; i++)
        {
            switch (seqIds[i])
            {
                case 0: tokens[i] = a.Tokens[ia]; offsets[i] = a.Offsets[ia++]; break;
                case 1: tokens[i] = b!.Tokens[ib]; offsets[i] = b.Offsets[ib++]; break;
                default: tokens[i] = IdToToken(ids[i]); offsets[i] = (0, 0); break;
            }
        }
        return new Encoding(ids, tokens, offsets, typeIds, seqIds);
    }

    // HF truncate_sequences: longest_first removes one token at a time from the longer side (the second on ties);
    // only_first / only_second cut that side alone.
    static (int, int) Truncate(int la, int lb, int budget, bool pair, TruncationStrategy strategy)
    {
        if (!pair || strategy == TruncationStrategy.OnlyFirst) return (Math.Min(la, Math.Max(budget - lb, 0)), lb);
        if (strategy == TruncationStrategy.OnlySecond) return (la, Math.Min(lb, Math.Max(budget - la, 0)));
        while (la + lb > budget)
        {
            if (la > lb) la--; else lb--;
        }
        return (la, lb);
    }

    static Encoding Slice(Encoding e, int n) => n >= e.Length ? e :
        new Encoding(e.Ids[..n], e.Tokens[..n], e.Offsets[..n], e.TypeIds[..n], e.SequenceIds[..n]);

    static Encoding Concat(Encoding a, Encoding b) => new(
        [.. a.Ids, .. b.Ids], [.. a.Tokens, .. b.Tokens], [.. a.Offsets, .. b.Offsets],
        [.. a.TypeIds, .. b.TypeIds], [.. a.SequenceIds, .. b.SequenceIds.Select(_ => 1)]);
}
