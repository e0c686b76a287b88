using System.Buffers;
using System.Text;
using Utf8 = System.Text.Encoding;

namespace Stilts.Tokenization;

/// <summary>Pieces appended by <see cref="SentencePieceModel.Encode"/>: ids and, when asked, [start, end) ranges in
/// the ORIGINAL text. One buffer is reused across calls so that encoding allocates nothing per piece.</summary>
internal sealed class PieceBuffer
{
    public int[] Ids = new int[128];
    public int[] Starts = new int[128];
    public int[] Ends = new int[128];
    public int Count;

    /// <summary>Texts longer than this get a buffer of their own, so that one huge text does not leave a huge buffer
    /// behind on its thread.</summary>
    public const int ReuseLimit = 1 << 16;

    /// <summary>The thread's reusable buffer (created on first use), or a fresh one for a very long text.</summary>
    public static PieceBuffer ForText(ref PieceBuffer? threadBuffer, int textLength) =>
        textLength > ReuseLimit ? new PieceBuffer() : threadBuffer ??= new PieceBuffer();

    public void Clear() => Count = 0;

    public void Add(int id)
    {
        if (Count == Ids.Length) Grow();
        Ids[Count++] = id;
    }

    public void Add(int id, int start, int end)
    {
        if (Count == Ids.Length) Grow();
        Ids[Count] = id; Starts[Count] = start; Ends[Count] = end;
        Count++;
    }

    void Grow()
    {
        Array.Resize(ref Ids, Ids.Length * 2);
        Array.Resize(ref Starts, Ids.Length);
        Array.Resize(ref Ends, Ids.Length);
    }
}

/// <summary>
/// A SentencePiece <c>.model</c> read by hand (it is a small protobuf) and run the way libsentencepiece 0.1.9x does:
/// the precompiled-charsmap normalizer (nmt_nfkc: NFKC, control characters dropped, odd whitespace to ' '), dummy
/// prefix and whitespace collapsing, then unigram Viterbi (or spm BPE), then runs of unknown pieces merged into one.
/// We do it ourselves rather than through Microsoft.ML.Tokenizers because we need offsets into the original text and
/// ML's spm port differs from spm on unknown runs, tie-breaks, control characters and BPE normalization.
/// spm works on UTF-8 bytes; we work on UTF-16 chars throughout (normalizer, trie, lattice), which visits the same
/// candidates in the same order, so the result is the same, and a .NET string needs no transcoding.
/// </summary>
internal sealed class SentencePieceModel
{
    public enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }
    public enum Algorithm { Unigram = 1, Bpe = 2, Word = 3, Char = 4 }

    const string SpaceSymbol = "\u2581";

    public string[] Pieces { get; }
    public float[] Scores { get; }
    public PieceType[] Types { get; }
    public Algorithm ModelType { get; }
    public int UnkId { get; }
    public int Count => Pieces.Length;

    readonly bool _addDummyPrefix;
    readonly SentencePieceNormalizer _normalizer;
    readonly Dictionary<string, int> _pieceToId = new(StringComparer.Ordinal);
    readonly PieceTrie _trie;            // Normal, UserDefined and Unused pieces; Unused ones read -1
    readonly double[] _pieceScore;       // what a piece adds to a path (see Viterbi)
    readonly float _unkScore;

    /// <summary>Per-thread work arrays, so that a tokenizer can be shared between threads.</summary>
    [ThreadStatic] static Scratch? t_scratch;

    SentencePieceModel(List<(string Piece, float Score, PieceType Type)> pieces, Algorithm algorithm,
        bool addDummyPrefix, bool removeExtraWhitespaces, bool escapeWhitespaces, byte[]? charsmap, string path)
    {
        Pieces = pieces.Select(p => p.Piece).ToArray();
        Scores = pieces.Select(p => p.Score).ToArray();
        Types = pieces.Select(p => p.Type).ToArray();
        ModelType = algorithm;
        _addDummyPrefix = addDummyPrefix;
        UnkId = Array.IndexOf(Types, PieceType.Unknown);
        if (UnkId < 0) throw new InvalidInputException(path, "the SentencePiece model has no piece of type UNKNOWN");
        float minScore = float.MaxValue, maxScore = float.MinValue;
        var trieEntries = new List<(string, int)>();
        for (int id = 0; id < Pieces.Length; id++)
        {
            _pieceToId.TryAdd(Pieces[id], id);
            if (Types[id] == PieceType.Normal) { minScore = Math.Min(minScore, Scores[id]); maxScore = Math.Max(maxScore, Scores[id]); }
            if (Types[id] is PieceType.Normal or PieceType.UserDefined or PieceType.Unused) trieEntries.Add((Pieces[id], id));
        }
        _trie = new PieceTrie(trieEntries);
        _trie.MapValues(id => Types[id] == PieceType.Unused ? -1 : id);
        // spm adds a double to the float path score: the piece's float score, or for a user-defined piece a bonus
        // (length in UTF-8 bytes * max score - 0.1) that makes it always win.
        _pieceScore = new double[Pieces.Length];
        for (int id = 0; id < Pieces.Length; id++)
            _pieceScore[id] = Types[id] == PieceType.UserDefined ? Utf8.UTF8.GetByteCount(Pieces[id]) * maxScore - 0.1 : Scores[id];
        _unkScore = minScore - 10f;
        _normalizer = new SentencePieceNormalizer(charsmap, addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces, path);
    }

    public int? PieceToId(string piece) => _pieceToId.TryGetValue(piece, out int id) ? id : null;


    // ---- loading: ModelProto { pieces = 1; trainer_spec = 2; normalizer_spec = 3 } ----

    public static SentencePieceModel Load(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "SentencePiece model file not found");
        byte[] data = File.ReadAllBytes(path);
        var pieces = new List<(string, float, PieceType)>();
        var algorithm = Algorithm.Unigram;
        bool addDummy = true, removeExtra = true, escape = true;
        byte[]? charsmap = null;
        try
        {
            var top = new ProtoReader(data, 0, data.Length);
            while (top.Next(out int field, out int wire))
            {
                if (field == 1 && wire == 2)
                {
                    var (s, e) = top.ReadSpan();
                    var p = new ProtoReader(data, s, e);
                    string piece = ""; float score = 0; var type = PieceType.Normal;
                    while (p.Next(out int f, out int w))
                    {
                        if (f == 1 && w == 2) { var (a, b) = p.ReadSpan(); piece = Utf8.UTF8.GetString(data, a, b - a); }
                        else if (f == 2 && w == 5) score = p.ReadFloat();
                        else if (f == 3 && w == 0) type = (PieceType)(int)p.ReadVarint();
                        else p.Skip(w);
                    }
                    pieces.Add((piece, score, type));
                }
                else if (field == 2 && wire == 2)
                {
                    var (s, e) = top.ReadSpan();
                    var t = new ProtoReader(data, s, e);
                    while (t.Next(out int f, out int w))
                        if (f == 3 && w == 0) algorithm = (Algorithm)(int)t.ReadVarint(); else t.Skip(w);
                }
                else if (field == 3 && wire == 2)
                {
                    var (s, e) = top.ReadSpan();
                    var n = new ProtoReader(data, s, e);
                    while (n.Next(out int f, out int w))
                    {
                        if (f == 2 && w == 2) { var (a, b) = n.ReadSpan(); charsmap = data[a..b]; }
                        else if (f == 3 && w == 0) addDummy = n.ReadVarint() != 0;
                        else if (f == 4 && w == 0) removeExtra = n.ReadVarint() != 0;
                        else if (f == 5 && w == 0) escape = n.ReadVarint() != 0;
                        else n.Skip(w);
                    }
                }
                else top.Skip(wire);
            }
        }
        catch (Exception ex) when (ex is IndexOutOfRangeException or ArgumentException or InvalidDataException or OverflowException)
        {
            throw new InvalidInputException(path, "not a valid SentencePiece model (protobuf parse failed)", ex);
        }
        if (pieces.Count == 0) throw new InvalidInputException(path, "the SentencePiece model has no pieces");
        if (algorithm is not (Algorithm.Unigram or Algorithm.Bpe))
            throw new InvalidInputException(path, $"SentencePiece model_type {algorithm} is not supported (expected UNIGRAM or BPE)");
        return new SentencePieceModel(pieces, algorithm, addDummy, removeExtra, escape, charsmap, path);
    }


    // ---- encoding ----

    /// <summary>
    /// spm Encode of <paramref name="text"/>: appends the spm ids to <paramref name="output"/> and, with
    /// <paramref name="withOffsets"/>, each piece's range in the original text shifted by <paramref name="baseOffset"/>.
    /// </summary>
    public void Encode(ReadOnlySpan<char> text, int baseOffset, PieceBuffer output, bool withOffsets)
    {
        var scratch = text.Length > PieceBuffer.ReuseLimit ? new Scratch() : t_scratch ??= new Scratch();
        int n = _normalizer.Normalize(text, scratch.Text, withOffsets);
        if (n == 0) return;
        ReadOnlySpan<char> norm = scratch.Text.Chars.AsSpan(0, n);
        int count = ModelType == Algorithm.Unigram ? Viterbi(norm, scratch) : EncodeBpe(norm, scratch);

        // The path is stored last piece first.
        int[] pathId = scratch.PathId, pathStart = scratch.PathStart;
        int[] originalStart = scratch.Text.OriginalStart, originalEnd = scratch.Text.OriginalEnd;
        for (int k = count - 1; k >= 0; k--)
        {
            int id = pathId[k], start = pathStart[k];
            // spm merges a run of unknown pieces into one so that decoding can copy it back.
            while (id == UnkId && k > 0 && pathId[k - 1] == UnkId) k--;
            if (!withOffsets) { output.Add(id); continue; }
            int end = k > 0 ? pathStart[k - 1] : n;
            int os = originalStart[start], oe = Math.Max(os, originalEnd[end - 1]);
            // The ▁ of a word stands for the space before it; the token's span is the word itself.
            while (os < oe && IsSpace(text[os])) os++;
            while (oe > os && IsSpace(text[oe - 1])) oe--;
            output.Add(id, baseOffset + os, baseOffset + oe);
        }
    }

    /// <summary>
    /// Encodes a text in which added tokens are matched whole first (HF style, see <see cref="AddedTokens.Split"/>):
    /// they keep their own ids and spans, the text between them goes through spm. Spm ids are shifted by
    /// <paramref name="idShift"/> and spm's &lt;unk&gt; becomes <paramref name="unkId"/> (XLM-R's fairseq layout).
    /// </summary>
    public void EncodeWithAddedTokens(string text, IReadOnlyList<AddedToken> added, SearchValues<char> addedFirstChars,
        int idShift, int unkId, PieceBuffer output, bool withOffsets)
    {
        output.Clear();
        // Most texts hold no added token at all: one search for their first chars skips the split.
        if (text.AsSpan().IndexOfAny(addedFirstChars) < 0)
        {
            Encode(text, 0, output, withOffsets);
            Remap(output.Ids.AsSpan(0, output.Count), idShift, unkId);
            return;
        }
        foreach (var segment in AddedTokens.Split(text, added))
        {
            if (segment.Id is int id) { output.Add(id, segment.Start, segment.End); continue; }
            int from = output.Count;
            Encode(text.AsSpan(segment.Start, segment.End - segment.Start), segment.Start, output, withOffsets);
            Remap(output.Ids.AsSpan(from, output.Count - from), idShift, unkId);
        }
    }

    void Remap(Span<int> ids, int idShift, int unkId)
    {
        if (idShift == 0 && unkId == UnkId) return;
        for (int i = 0; i < ids.Length; i++) ids[i] = ids[i] == UnkId ? unkId : ids[i] + idShift;
    }

    static bool IsSpace(char c) => SpaceChars[c];

    // What a token's span sheds at its edges: whitespace, control characters, zero-width space and BOM.
    static readonly bool[] SpaceChars = Enumerable.Range(0, char.MaxValue + 1)
        .Select(c => char.IsWhiteSpace((char)c) || char.IsControl((char)c) || c is '\u200b' or '\ufeff').ToArray();

    // A surrogate pair is one character; the normalizer leaves no lone surrogates.
    static int CharLength(ReadOnlySpan<char> s, int pos) =>
        char.IsHighSurrogate(s[pos]) && pos + 1 < s.Length && char.IsLowSurrogate(s[pos + 1]) ? 2 : 1;

    /// <summary>
    /// spm's optimized unigram Viterbi: the best path ending at each position, candidates visited by start, then by
    /// length. A candidate's score is computed in double (float path score + double piece score) and replaces the
    /// stored float only when strictly greater, so an exact tie keeps the earlier-starting last piece ("f ff" for
    /// "fff" when f = -3 and ff = -4). A character no piece covers is an unknown node scored min_score - 10, added in
    /// float. Matches spm_encode 0.1.97 on 100k generated multilingual lines.
    /// </summary>
    int Viterbi(ReadOnlySpan<char> s, Scratch scratch)
    {
        int n = s.Length;
        scratch.EnsureCapacity(n + 1);
        float[] best = scratch.Score;
        int[] from = scratch.From, bestId = scratch.Id;
        // -inf stands for "no path yet": any candidate beats it, as spm's starts_at == -1 test does.
        best[0] = 0;
        best.AsSpan(1, n).Fill(float.NegativeInfinity);
        double[] pieceScore = _pieceScore;
        int[] codes = _trie.Codes;
        PieceTrie.Unit[] units = _trie.Units;
        for (int start = 0; start < n;)
        {
            float here = best[start];
            int mblen = CharLength(s, start);
            bool hasSingle = false;
            int node = 0;
            for (int i = start; i < n; i++)
            {
                // The trie's Step, inlined: this loop is where encoding spends most of its time.
                int next = units[node].Base + codes[s[i]];
                if ((uint)next >= (uint)units.Length || units[next].Check != node) break;
                node = next;
                int id = units[node].Value;
                if (id < 0) continue;
                double candidate = here + pieceScore[id];
                int end = i + 1;
                if (candidate > best[end]) { best[end] = (float)candidate; from[end] = start; bestId[end] = id; }
                if (end - start == mblen) hasSingle = true;
            }
            if (!hasSingle)
            {
                int end = start + mblen;
                float candidate = here + _unkScore;
                if (candidate > best[end]) { best[end] = candidate; from[end] = start; bestId[end] = UnkId; }
            }
            start += mblen;
        }
        int count = 0;
        for (int end = n; end > 0; end = from[end]) { scratch.PathId[count] = bestId[end]; scratch.PathStart[count++] = from[end]; }
        return count;
    }

    /// <summary>spm BPE: start from characters, repeatedly merge the adjacent pair that forms the best-scored piece
    /// (leftmost on ties); characters outside the vocabulary stay unknown.</summary>
    int EncodeBpe(ReadOnlySpan<char> s, Scratch scratch)
    {
        var syms = new List<(int Start, int End)>();
        for (int i = 0; i < s.Length; i += CharLength(s, i)) syms.Add((i, i + CharLength(s, i)));
        while (true)
        {
            int bestAt = -1; float best = float.NegativeInfinity;
            for (int i = 0; i + 1 < syms.Count; i++)
            {
                int id = _trie.Find(s[syms[i].Start..syms[i + 1].End]);
                if (id >= 0 && Scores[id] > best) { best = Scores[id]; bestAt = i; }
            }
            if (bestAt < 0) break;
            syms[bestAt] = (syms[bestAt].Start, syms[bestAt + 1].End);
            syms.RemoveAt(bestAt + 1);
        }
        scratch.EnsureCapacity(syms.Count);
        for (int k = 0; k < syms.Count; k++)
        {
            int id = _trie.Find(s[syms[k].Start..syms[k].End]);
            scratch.PathId[syms.Count - 1 - k] = id < 0 ? UnkId : id;
            scratch.PathStart[syms.Count - 1 - k] = syms[k].Start;
        }
        return syms.Count;
    }

    sealed class Scratch
    {
        public readonly NormalizedText Text = new();
        public float[] Score = [];
        public int[] From = [], Id = [], PathId = [], PathStart = [];

        public void EnsureCapacity(int size)
        {
            if (size <= Score.Length) return;
            size = Math.Max(size, 2 * Score.Length);
            (Score, From, Id, PathId, PathStart) = (new float[size], new int[size], new int[size], new int[size], new int[size]);
        }
    }

    // ---- decoding ----

    /// <summary>spm DecodePieces: ▁ back to spaces, the dummy-prefix space of the first piece dropped; an unknown
    /// piece given by id decodes to " ⁇ " as in spm.</summary>
    public string DecodePieces(IEnumerable<string> pieces)
    {
        var sb = new StringBuilder();
        bool atStart = true;
        foreach (string piece in pieces)
        {
            int? id = PieceToId(piece);
            string surface;
            if (id is int i && Types[i] == PieceType.Control) surface = "";
            else if (id is int u && u == UnkId) surface = " \u2047 ";
            else
            {
                surface = piece.Replace(SpaceSymbol, " ");
                if (atStart && _addDummyPrefix && surface.StartsWith(' ')) surface = surface[1..];
            }
            if (surface.Length > 0) atStart = false;
            sb.Append(surface);
        }
        return sb.ToString();
    }


    /// <summary>Minimal protobuf wire reader: just what ModelProto needs.</summary>
    struct ProtoReader(byte[] data, int pos, int end)
    {
        int _pos = pos;

        public bool Next(out int field, out int wire)
        {
            field = wire = 0;
            if (_pos >= end) return false;
            ulong key = ReadVarint();
            field = (int)(key >> 3); wire = (int)(key & 7);
            return true;
        }

        public ulong ReadVarint()
        {
            ulong v = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (_pos >= end || shift > 63) throw new InvalidDataException("bad varint");
                byte b = data[_pos++];
                v |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) return v;
            }
        }

        public (int Start, int End) ReadSpan()
        {
            int len = checked((int)ReadVarint());
            if (len < 0 || _pos + len > end) throw new InvalidDataException("bad length");
            int s = _pos; _pos += len;
            return (s, _pos);
        }

        public float ReadFloat()
        {
            if (_pos + 4 > end) throw new InvalidDataException("truncated float");
            float f = BitConverter.ToSingle(data, _pos); _pos += 4;
            return f;
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case 0: ReadVarint(); break;
                case 1: _pos += 8; break;
                case 2: ReadSpan(); break;
                case 5: _pos += 4; break;
                default: throw new InvalidDataException($"unsupported wire type {wire}");
            }
            if (_pos > end) throw new InvalidDataException("truncated field");
        }
    }
}
