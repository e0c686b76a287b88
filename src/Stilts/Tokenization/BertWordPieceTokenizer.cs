using System.Globalization;
using System.Text;

namespace Stilts.Tokenization;

/// <summary>
/// BERT: HF BasicTokenizer (clean text, CJK split, optional lower-casing and accent stripping, punctuation split)
/// then greedy longest-match WordPiece with ## continuations. [CLS] A [SEP] B [SEP], type ids 0 then 1.
/// Every character carries its original range, so offsets index the original text.
/// </summary>
public sealed class BertWordPieceTokenizer : TextTokenizer
{
    const int MaxInputCharsPerWord = 100;
    readonly Dictionary<string, int> _vocab;
    readonly string[] _idToToken;
    readonly bool _lowerCase, _stripAccents, _splitChinese;
    readonly List<AddedToken> _added;
    readonly HashSet<int> _specialIds;

    public override TokenizerKind Kind => TokenizerKind.BertWordPiece;
    public override SpecialTokens Special { get; }
    public override int VocabSize => _idToToken.Length;
    public override int ModelMaxLength { get; }

    BertWordPieceTokenizer(string vocabPath, TokenizerConfig config)
    {
        if (!File.Exists(vocabPath)) throw new InvalidInputException(vocabPath, "vocab file not found");
        _vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        var lines = File.ReadAllLines(vocabPath);
        for (int i = 0; i < lines.Length; i++)
        {
            // HF load_vocab keeps each line minus its newline; trailing \r from Windows files is dropped too.
            string token = lines[i].TrimEnd('\r');
            if (!_vocab.TryAdd(token, i))
                throw InvalidInputException.AtLine(vocabPath, i + 1, $"duplicate vocabulary entry '{token}' (first at line {_vocab[token] + 1}); ids would be ambiguous");
        }
        _idToToken = lines.Select(l => l.TrimEnd('\r')).ToArray();
        _lowerCase = config.DoLowerCase ?? true;
        // HF: strip_accents None follows do_lower_case; an explicit value wins.
        _stripAccents = config.StripAccents ?? _lowerCase;
        _splitChinese = config.TokenizeChineseChars;

        int Id(string key, string fallback)
        {
            string name = config.Token(key, fallback);
            return _vocab.TryGetValue(name, out int id) ? id
                : throw new InvalidInputException($"{vocabPath}", $"{key} '{name}' is not in the vocabulary");
        }
        string unk = config.Token("unk_token", "[UNK]"), cls = config.Token("cls_token", "[CLS]"), sep = config.Token("sep_token", "[SEP]");
        string pad = config.Token("pad_token", "[PAD]"), mask = config.Token("mask_token", "[MASK]");
        Special = new SpecialTokens(pad, Id("pad_token", "[PAD]"), unk, Id("unk_token", "[UNK]"), cls, Id("cls_token", "[CLS]"),
            sep, Id("sep_token", "[SEP]"), mask, _vocab.TryGetValue(mask, out int maskId) ? maskId : null);
        _added = [new(cls, Special.ClsId!.Value), new(sep, Special.SepId!.Value), new(pad, Special.PadId),
            new(unk, Special.UnkId)];
        // Fine-tuned vocabularies sometimes lack [MASK]; nothing but MLM needs it, so it is optional.
        if (Special.MaskId is int m) _added.Add(new(mask, m));
        _specialIds = [.. _added.Select(a => a.Id)];
        ModelMaxLength = config.ModelMaxLength ?? config.MaxPositionEmbeddings ?? 512;
    }

    /// <summary>Loads vocab.txt (one token per line, id = line index); duplicates are an error naming the line.</summary>
    public static BertWordPieceTokenizer Create(string vocabPath, TokenizerConfig? config = null) => new(vocabPath, config ?? new TokenizerConfig());

    public override Encoding Tokenize(string text)
    {
        List<int> ids = []; List<string> tokens = []; List<(int, int)> offsets = [];
        foreach (var seg in AddedTokens.Split(text, _added))
        {
            if (seg.Id is int sid) { ids.Add(sid); tokens.Add(_idToToken[sid]); offsets.Add((seg.Start, seg.End)); continue; }
            foreach (var word in BasicTokenize(text, seg.Start, seg.End))
                WordPiece(word, ids, tokens, offsets);
        }
        return AddedTokens.ToEncoding(ids, tokens, offsets);
    }

    /// <summary>A processed character (possibly several UTF-16 units) and the original range it came from.</summary>
    readonly record struct Ch(string Text, int Start, int End);

    List<List<Ch>> BasicTokenize(string text, int from, int to)
    {
        var words = new List<List<Ch>>();
        var current = new List<Ch>();
        void Flush() { if (current.Count > 0) { words.Add(current); current = []; } }

        for (int i = from; i < to;)
        {
            var rune = Rune.GetRuneAt(text, i);
            int len = rune.Utf16SequenceLength, start = i;
            i += len;
            int cp = rune.Value;
            var cat = Rune.GetUnicodeCategory(rune);
            if (IsWhitespace(cp, cat)) { Flush(); continue; }
            if (cp == 0 || cp == 0xFFFD || IsControl(cp, cat)) continue;
            if (_splitChinese && IsCjk(cp)) { Flush(); current.Add(new(rune.ToString(), start, i)); Flush(); continue; }

            string s = rune.ToString();
            if (_lowerCase) s = Lower(rune);
            if (_stripAccents) s = StripAccents(s);
            foreach (var piece in SplitRunes(s))
            {
                var r = Rune.GetRuneAt(piece, 0);
                if (IsPunctuation(r.Value, Rune.GetUnicodeCategory(r))) { Flush(); current.Add(new(piece, start, i)); Flush(); }
                else current.Add(new(piece, start, i));
            }
        }
        Flush();
        return words;
    }

    void WordPiece(List<Ch> word, List<int> ids, List<string> tokens, List<(int, int)> offsets)
    {
        int unk = Special.UnkId;
        (int, int) Span(int a, int b) => (word[a].Start, word[b - 1].End);
        if (word.Count > MaxInputCharsPerWord) { ids.Add(unk); tokens.Add(Special.Unk); offsets.Add(Span(0, word.Count)); return; }
        var found = new List<(int Id, int Start, int End)>();
        for (int start = 0; start < word.Count;)
        {
            int end = word.Count, hit = -1;
            for (; end > start; end--)
            {
                var sb = new StringBuilder(start > 0 ? "##" : "");
                for (int k = start; k < end; k++) sb.Append(word[k].Text);
                if (_vocab.TryGetValue(sb.ToString(), out hit)) break;
                hit = -1;
            }
            // One unmatched piece makes the whole word a single [UNK], as HF does.
            if (hit < 0) { ids.Add(unk); tokens.Add(Special.Unk); offsets.Add(Span(0, word.Count)); return; }
            found.Add((hit, start, end));
            start = end;
        }
        foreach (var (id, s, e) in found) { ids.Add(id); tokens.Add(_idToToken[id]); offsets.Add(Span(s, e)); }
    }

    static IEnumerable<string> SplitRunes(string s)
    {
        for (int i = 0; i < s.Length;)
        {
            int n = char.IsSurrogatePair(s, i) ? 2 : 1;
            yield return s.Substring(i, n);
            i += n;
        }
    }

    // HF lower-cases one character at a time (Python str.lower), so there is no final-sigma context; the only
    // one-character full mapping .NET's simple mapping lacks is İ -> i + U+0307.
    static string Lower(Rune rune) => rune.Value == 0x130 ? "i\u0307" : Rune.ToLowerInvariant(rune).ToString();

    // HF _run_strip_accents: NFD, then drop every Mn. Per character is enough since the marks are dropped anyway.
    static string StripAccents(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var rune in s.EnumerateRunes())
            foreach (var part in UnicodeDecomposition.Nfd(rune.Value).EnumerateRunes())
                if (Rune.GetUnicodeCategory(part) != UnicodeCategory.NonSpacingMark) sb.Append(part.ToString());
        return sb.ToString();
    }

    // HF's _is_whitespace turns \t \n \r and Zs into spaces; the str.split() after it also splits on Zl and Zp.
    static bool IsWhitespace(int cp, UnicodeCategory cat) => cp is ' ' or '\t' or '\n' or '\r'
        || cat is UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;

    // HF _is_control: \t \n \r are whitespace; any other C* category (Cc, Cf, Cs, Co, Cn) is removed.
    static bool IsControl(int cp, UnicodeCategory cat) => cp is not ('\t' or '\n' or '\r') && cat is UnicodeCategory.Control
        or UnicodeCategory.Format or UnicodeCategory.Surrogate or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;

    // HF _is_punctuation: all non-letter/number ASCII symbols plus every Unicode P* category.
    static bool IsPunctuation(int cp, UnicodeCategory cat) =>
        cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126 || cat is UnicodeCategory.ConnectorPunctuation
            or UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;

    // HF _is_chinese_char: the CJK Unified Ideographs blocks (not Hangul, Hiragana or Katakana).
    static bool IsCjk(int cp) => cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF
        or >= 0x2A700 and <= 0x2B73F or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF
        or >= 0x2F800 and <= 0x2FA1F;

    public override (int[] Ids, int[] TypeIds, int[] SequenceIds) BuildInputs(IReadOnlyList<int> first, IReadOnlyList<int>? second)
    {
        int cls = Special.ClsId!.Value, sep = Special.SepId!.Value;
        var ids = new List<int> { cls }; var types = new List<int> { 0 }; var seq = new List<int> { -1 };
        ids.AddRange(first); types.AddRange(first.Select(_ => 0)); seq.AddRange(first.Select(_ => 0));
        ids.Add(sep); types.Add(0); seq.Add(-1);
        if (second != null)
        {
            ids.AddRange(second); types.AddRange(second.Select(_ => 1)); seq.AddRange(second.Select(_ => 1));
            ids.Add(sep); types.Add(1); seq.Add(-1);
        }
        return (ids.ToArray(), types.ToArray(), seq.ToArray());
    }

    public override int NumSpecialTokens(bool pair) => pair ? 3 : 2;

    public override string IdToToken(int id) => id >= 0 && id < _idToToken.Length ? _idToToken[id]
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"not an id of this {VocabSize}-id vocabulary");

    public override int? TokenToId(string token) => _vocab.TryGetValue(token, out int id) ? id : null;

    /// <summary>HF slow decode: tokens joined by spaces, " ##" removed, then clean_up_tokenization.</summary>
    public override string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false)
    {
        var kept = ids.Where(id => !(skipSpecialTokens && _specialIds.Contains(id))).Select(IdToToken);
        return AddedTokens.CleanUp(AddedTokens.PyStrip(string.Join(" ", kept).Replace(" ##", "")));
    }
}
