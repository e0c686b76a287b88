using System.Text;

namespace Stilts.Tokenization;

/// <summary>
/// Writes a SentencePiece unigram <c>spiece.model</c> from a word list, no training: T5's layout (&lt;pad&gt; = 0,
/// &lt;/s&gt; = 1, &lt;unk&gt; = 2), then one "▁word" piece per word, then "▁" and every character of the words as
/// fallback pieces. A word piece scores -1 and a character -10, so a listed word is always one piece (any split
/// costs at least -20) and any other word is spelled out (from a listed word's prefix where one fits). Used for
/// toy worlds (the mT5 quickstart), where a trained vocabulary would only blur what the experiment shows.
/// </summary>
public static class SentencePieceWordModel
{
    const string SpaceSymbol = "\u2581";
    const float WordScore = -1f, CharScore = -10f;
    // sentencepiece_model.proto: SentencePiece.Type.
    const int Normal = 1, Unknown = 2, Control = 3;

    /// <summary>The pieces in id order with their score and type, as <see cref="Write"/> stores them.</summary>
    public static IReadOnlyList<(string Piece, float Score, int Type)> Pieces(IEnumerable<string> words)
    {
        var pieces = new List<(string, float, int)> { ("<pad>", 0f, Control), ("</s>", 0f, Control), ("<unk>", 0f, Unknown) };
        var seen = new HashSet<string>(StringComparer.Ordinal) { "<pad>", "</s>", "<unk>" };
        var chars = new SortedSet<string>(StringComparer.Ordinal) { SpaceSymbol };
        foreach (string word in words)
        {
            if (word.Length == 0) continue;
            if (word.Any(char.IsWhiteSpace) || word.Contains(SpaceSymbol, StringComparison.Ordinal))
                throw new InvalidInputException($"word \"{word}\"", "a vocabulary word must not contain whitespace or ▁");
            if (word.Normalize(NormalizationForm.FormC) != word)
                throw new InvalidInputException($"word \"{word}\"", "words must be NFC (the model has no normalizer)");
            if (seen.Add(SpaceSymbol + word)) pieces.Add((SpaceSymbol + word, WordScore, Normal));
            // Characters as text elements of one UTF-16 unit or a surrogate pair: what the encoder steps over.
            for (int i = 0; i < word.Length; i += char.IsSurrogatePair(word, i) ? 2 : 1)
                chars.Add(word.Substring(i, char.IsSurrogatePair(word, i) ? 2 : 1));
        }
        foreach (string c in chars)
            if (seen.Add(c)) pieces.Add((c, CharScore, Normal));
        return pieces;
    }

    /// <summary>Writes the model to <paramref name="path"/> (atomically).</summary>
    public static void Write(string path, IEnumerable<string> words)
    {
        var pieces = Pieces(words);
        var model = new List<byte>();
        foreach (var (piece, score, type) in pieces)
        {
            var p = new List<byte>();
            Bytes(p, 1, System.Text.Encoding.UTF8.GetBytes(piece));
            p.Add(Tag(2, 5)); p.AddRange(BitConverter.GetBytes(score)); // little-endian on every platform .NET runs on
            Varint(p, 3, type);
            Bytes(model, 1, [.. p]);
        }
        // TrainerSpec: what spm_train would have recorded for T5's layout (model_type UNIGRAM, no <s>).
        var trainer = new List<byte>();
        Varint(trainer, 3, 1);
        Varint(trainer, 4, pieces.Count);
        Varint(trainer, 40, 2);   // unk_id
        Varint(trainer, 41, -1);  // bos_id
        Varint(trainer, 42, 1);   // eos_id
        Varint(trainer, 43, 0);   // pad_id
        Bytes(model, 2, [.. trainer]);
        // NormalizerSpec: no charsmap (identity), dummy prefix, whitespace collapsed and escaped as ▁.
        var normalizer = new List<byte>();
        Bytes(normalizer, 1, System.Text.Encoding.UTF8.GetBytes("identity"));
        Varint(normalizer, 3, 1);
        Varint(normalizer, 4, 1);
        Varint(normalizer, 5, 1);
        Bytes(model, 3, [.. normalizer]);
        byte[] bytes = [.. model];
        AtomicFile.Write(path, s => s.Write(bytes));
    }

    static byte Tag(int field, int wire) => (byte)(field << 3 | wire);

    static void Bytes(List<byte> o, int field, byte[] value)
    {
        RawVarint(o, (ulong)(field << 3 | 2));
        RawVarint(o, (ulong)value.Length);
        o.AddRange(value);
    }

    // int32 fields: a negative value is its 64-bit two's complement (10 bytes), as protobuf writes it.
    static void Varint(List<byte> o, int field, long value)
    {
        RawVarint(o, (ulong)(field << 3));
        RawVarint(o, unchecked((ulong)value));
    }

    static void RawVarint(List<byte> o, ulong v)
    {
        for (; v >= 0x80; v >>= 7) o.Add((byte)(v | 0x80));
        o.Add((byte)v);
    }
}
