using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Stilts.Tokenization;

/// <summary>
/// RoBERTa / GPT-2 byte-level BPE from vocab.json + merges.txt, as HF RobertaTokenizer (slow): GPT-2 pre-tokenizer
/// regex, every UTF-8 byte shown as one printable character, merges applied by rank. Layout &lt;s&gt; A &lt;/s&gt; and
/// &lt;s&gt; A &lt;/s&gt;&lt;/s&gt; B &lt;/s&gt;. Offsets are original characters; a token holding part of a multi-byte
/// character spans that whole character.
/// </summary>
public sealed partial class RobertaBpeTokenizer : TextTokenizer
{
    [GeneratedRegex(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+")]
    private static partial Regex Gpt2Split();

    static readonly char[] ByteToChar = BuildByteMap();
    static readonly Dictionary<char, byte> CharToByte = ByteToChar.Select((c, b) => (c, b)).ToDictionary(x => x.c, x => (byte)x.b);

    readonly Dictionary<string, int> _vocab;
    readonly string[] _idToToken;
    readonly Dictionary<(string, string), int> _ranks;
    readonly ConcurrentDictionary<string, string[]> _cache = new(StringComparer.Ordinal); // featurizers may tokenize in parallel
    readonly bool _addPrefixSpace;
    readonly List<AddedToken> _added;
    readonly HashSet<int> _specialIds;

    public override TokenizerKind Kind => TokenizerKind.RobertaByteLevelBpe;
    public override SpecialTokens Special { get; }
    public override int VocabSize => _idToToken.Length;
    public override int ModelMaxLength { get; }

    RobertaBpeTokenizer(Dictionary<string, int> vocab, Dictionary<(string, string), int> ranks, TokenizerConfig config, string vocabPath)
    {
        _vocab = vocab;
        _ranks = ranks;
        _idToToken = new string[vocab.Count == 0 ? 0 : vocab.Values.Max() + 1];
        foreach (var (tok, id) in vocab) _idToToken[id] = tok;
        _addPrefixSpace = config.AddPrefixSpace;

        int Id(string name, string key) => vocab.TryGetValue(name, out int id) ? id
            : throw new InvalidInputException(vocabPath, $"{key} '{name}' is not in the vocabulary");
        var bos = config.Spec("bos_token", "<s>"); var eos = config.Spec("eos_token", "</s>");
        var unk = config.Spec("unk_token", "<unk>"); var pad = config.Spec("pad_token", "<pad>");
        var mask = config.Spec("mask_token", "<mask>");
        string cls = config.Token("cls_token", bos.Content), sep = config.Token("sep_token", eos.Content);
        Special = new SpecialTokens(pad.Content, Id(pad.Content, "pad_token"), unk.Content, Id(unk.Content, "unk_token"),
            cls, Id(cls, "cls_token"), sep, Id(sep, "sep_token"), mask.Content, Id(mask.Content, "mask_token"),
            bos.Content, Id(bos.Content, "bos_token"), eos.Content, Id(eos.Content, "eos_token"));
        // RobertaTokenizer wraps every special in AddedToken(lstrip=False, rstrip=False) except <mask> (lstrip=True).
        _added = [new(bos.Content, Special.BosId!.Value, bos.LStrip ?? false, bos.RStrip ?? false),
            new(eos.Content, Special.EosId!.Value, eos.LStrip ?? false, eos.RStrip ?? false),
            new(unk.Content, Special.UnkId, unk.LStrip ?? false, unk.RStrip ?? false),
            new(pad.Content, Special.PadId, pad.LStrip ?? false, pad.RStrip ?? false),
            new(mask.Content, Special.MaskId!.Value, mask.LStrip ?? true, mask.RStrip ?? false)];
        _specialIds = [.. _added.Select(a => a.Id)];
        ModelMaxLength = config.ModelMaxLength ?? (config.MaxPositionEmbeddings - 2) ?? 512;
    }

    /// <summary>Loads vocab.json ({token: id}) and merges.txt (one "left right" pair per line, rank = order).</summary>
    public static RobertaBpeTokenizer Create(string vocabPath, string mergesPath, TokenizerConfig? config = null)
    {
        if (!File.Exists(vocabPath)) throw new InvalidInputException(vocabPath, "vocab file not found");
        if (!File.Exists(mergesPath)) throw new InvalidInputException(mergesPath, "merges file not found");
        Dictionary<string, int> vocab;
        try { vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(vocabPath)) ?? []; }
        catch (JsonException ex) { throw new InvalidInputException(vocabPath, $"expected a JSON object of token -> integer id: {ex.Message}", ex); }
        var ids = new HashSet<int>();
        foreach (var (tok, id) in vocab)
            if (id < 0 || !ids.Add(id)) throw new InvalidInputException($"{vocabPath}: {tok}", $"id {id} is negative or used twice");

        var ranks = new Dictionary<(string, string), int>();
        var lines = File.ReadAllLines(mergesPath);
        for (int i = 0; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            if (line.Length == 0 || line.StartsWith("#version", StringComparison.Ordinal)) continue;
            var parts = line.Split(' ');
            if (parts.Length != 2 || parts[0].Length == 0 || parts[1].Length == 0)
                throw InvalidInputException.AtLine(mergesPath, i + 1, $"expected two space-separated symbols, got '{line}'");
            ranks.TryAdd((parts[0], parts[1]), ranks.Count);
        }
        return new RobertaBpeTokenizer(vocab, ranks, config ?? new TokenizerConfig(), vocabPath);
    }

    public override Encoding Tokenize(string text)
    {
        // HF prepare_for_tokenization: add_prefix_space puts one space before a text that does not start with one.
        int shift = _addPrefixSpace && text.Length > 0 && !char.IsWhiteSpace(text[0]) ? 1 : 0;
        string work = shift == 1 ? " " + text : text;
        List<int> ids = []; List<string> tokens = []; List<(int, int)> offsets = [];
        (int, int) Orig(int s, int e) => (Math.Max(s - shift, 0), Math.Max(e - shift, 0));
        foreach (var seg in AddedTokens.Split(work, _added))
        {
            if (seg.Id is int sid) { ids.Add(sid); tokens.Add(_idToToken[sid]); offsets.Add(Orig(seg.Start, seg.End)); continue; }
            foreach (Match m in Gpt2Split().Matches(work[seg.Start..seg.End]))
            {
                int wordStart = seg.Start + m.Index;
                byte[] bytes = System.Text.Encoding.UTF8.GetBytes(m.Value);
                int[] byteChar = ByteToCharIndex(m.Value, bytes.Length);
                int pos = 0;
                foreach (string tok in Bpe(new string(bytes.Select(b => ByteToChar[b]).ToArray())))
                {
                    int bs = pos, be = pos + tok.Length;
                    pos = be;
                    int cs = byteChar[bs], ce = byteChar[be - 1] + (char.IsSurrogatePair(m.Value, byteChar[be - 1]) ? 2 : 1);
                    // A leading space is the word separator, not part of the word's surface.
                    if (ce - cs > 1 && m.Value[cs] == ' ') cs++;
                    ids.Add(_vocab.TryGetValue(tok, out int id) ? id : Special.UnkId);
                    tokens.Add(tok);
                    offsets.Add(Orig(wordStart + cs, wordStart + ce));
                }
            }
        }
        return AddedTokens.ToEncoding(ids, tokens, offsets);
    }

    static int[] ByteToCharIndex(string s, int byteCount)
    {
        var map = new int[byteCount];
        for (int c = 0, b = 0; c < s.Length;)
        {
            int n = char.IsSurrogatePair(s, c) ? 2 : 1;
            int nb = System.Text.Encoding.UTF8.GetByteCount(s.AsSpan(c, n));
            for (int k = 0; k < nb; k++) map[b + k] = c;
            b += nb; c += n;
        }
        return map;
    }

    // GPT-2 bpe(): merge the lowest-ranked adjacent pair everywhere, until no pair has a rank.
    string[] Bpe(string word)
    {
        if (_cache.TryGetValue(word, out var cached)) return cached;
        var parts = word.Select(c => c.ToString()).ToList();
        while (parts.Count > 1)
        {
            int bestRank = int.MaxValue;
            (string, string) best = default;
            for (int i = 0; i + 1 < parts.Count; i++)
                if (_ranks.TryGetValue((parts[i], parts[i + 1]), out int r) && r < bestRank) { bestRank = r; best = (parts[i], parts[i + 1]); }
            if (bestRank == int.MaxValue) break;
            var merged = new List<string>(parts.Count);
            for (int i = 0; i < parts.Count; i++)
            {
                if (i + 1 < parts.Count && parts[i] == best.Item1 && parts[i + 1] == best.Item2) { merged.Add(best.Item1 + best.Item2); i++; }
                else merged.Add(parts[i]);
            }
            parts = merged;
        }
        var result = parts.ToArray();
        if (_cache.Count < 100_000) _cache[word] = result;
        return result;
    }

    // GPT-2 bytes_to_unicode: printable Latin-1 bytes stand for themselves, the rest map to U+0100 onwards.
    static char[] BuildByteMap()
    {
        var map = new char[256];
        int next = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + next++);
        }
        return map;
    }

    public override (int[] Ids, int[] TypeIds, int[] SequenceIds) BuildInputs(IReadOnlyList<int> first, IReadOnlyList<int>? second)
    {
        int cls = Special.ClsId!.Value, sep = Special.SepId!.Value;
        var ids = new List<int> { cls }; var seq = new List<int> { -1 };
        ids.AddRange(first); seq.AddRange(first.Select(_ => 0));
        ids.Add(sep); seq.Add(-1);
        if (second != null)
        {
            ids.Add(sep); seq.Add(-1);
            ids.AddRange(second); seq.AddRange(second.Select(_ => 1));
            ids.Add(sep); seq.Add(-1);
        }
        return (ids.ToArray(), new int[ids.Count], seq.ToArray());
    }

    public override int NumSpecialTokens(bool pair) => pair ? 4 : 2;

    public override string IdToToken(int id) => id >= 0 && id < _idToToken.Length && _idToToken[id] != null ? _idToToken[id]
        : throw new ArgumentOutOfRangeException(nameof(id), id, $"not an id of this {VocabSize}-id vocabulary");

    public override int? TokenToId(string token) => _vocab.TryGetValue(token, out int id) ? id : null;

    /// <summary>HF slow decode: token characters back to bytes, UTF-8 with replacement, then clean_up_tokenization.</summary>
    public override string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false)
    {
        var bytes = new List<byte>();
        foreach (int id in ids)
        {
            if (skipSpecialTokens && _specialIds.Contains(id)) continue;
            foreach (char c in IdToToken(id))
                if (CharToByte.TryGetValue(c, out byte b)) bytes.Add(b);
                else bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(c.ToString()));
        }
        return AddedTokens.CleanUp(System.Text.Encoding.UTF8.GetString(bytes.ToArray()));
    }
}
