using System.Text;
using Utf8 = System.Text.Encoding;

namespace Stilts.Tokenization;

/// <summary>One piece of a SentencePiece encoding: the spm id, its surface in the normalized text (for an unknown
/// run that is the run itself, as spm reports it) and the [start, end) character range in the ORIGINAL text.</summary>
internal readonly record struct SpPiece(int Id, string Piece, int Start, int End);

/// <summary>
/// A SentencePiece <c>.model</c> read by hand (it is a small protobuf) and run the way libsentencepiece 0.1.9x does:
/// the precompiled-charsmap normalizer (nmt_nfkc: NFKC, control characters dropped, odd whitespace to ' '), dummy
/// prefix and whitespace collapsing, then unigram Viterbi (or spm BPE), then runs of unknown pieces merged into one.
/// We do it ourselves rather than through Microsoft.ML.Tokenizers because we need offsets into the original text and
/// ML's spm port differs from spm on unknown runs, tie-breaks, control characters and BPE normalization.
/// </summary>
internal sealed class SentencePieceModel
{
    public enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }
    public enum Algorithm { Unigram = 1, Bpe = 2, Word = 3, Char = 4 }

    const string SpaceSymbol = "\u2581";
    static readonly byte[] SpaceSymbolUtf8 = Utf8.UTF8.GetBytes(SpaceSymbol);
    static readonly byte[] ReplacementUtf8 = Utf8.UTF8.GetBytes("\uFFFD");

    public string[] Pieces { get; }
    public float[] Scores { get; }
    public PieceType[] Types { get; }
    public Algorithm ModelType { get; }
    public int UnkId { get; }
    public int Count => Pieces.Length;

    readonly bool _addDummyPrefix, _removeExtraWhitespaces, _escapeWhitespaces;
    readonly uint[]? _charsmapUnits;      // darts-clone double array over UTF-8 bytes
    readonly byte[]? _charsmapStrings;    // NUL-terminated replacement strings the array's values point into
    readonly Dictionary<string, int> _pieceToId = new(StringComparer.Ordinal);
    readonly ByteTrie _trie = new();
    readonly float _minScore, _maxScore;

    SentencePieceModel(List<(string Piece, float Score, PieceType Type)> pieces, Algorithm algorithm,
        bool addDummyPrefix, bool removeExtraWhitespaces, bool escapeWhitespaces, byte[]? charsmap, string path)
    {
        Pieces = pieces.Select(p => p.Piece).ToArray();
        Scores = pieces.Select(p => p.Score).ToArray();
        Types = pieces.Select(p => p.Type).ToArray();
        ModelType = algorithm;
        (_addDummyPrefix, _removeExtraWhitespaces, _escapeWhitespaces) = (addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces);
        UnkId = Array.IndexOf(Types, PieceType.Unknown);
        if (UnkId < 0) throw new InvalidInputException(path, "the SentencePiece model has no piece of type UNKNOWN");
        _minScore = float.MaxValue; _maxScore = float.MinValue;
        for (int id = 0; id < Pieces.Length; id++)
        {
            _pieceToId.TryAdd(Pieces[id], id);
            if (Types[id] == PieceType.Normal) { _minScore = Math.Min(_minScore, Scores[id]); _maxScore = Math.Max(_maxScore, Scores[id]); }
            if (Types[id] is PieceType.Normal or PieceType.UserDefined or PieceType.Unused)
                _trie.Add(Utf8.UTF8.GetBytes(Pieces[id]), id);
        }
        _trie.Freeze();
        if (charsmap is { Length: > 4 })
        {
            int trieBytes = (int)BitConverter.ToUInt32(charsmap, 0);
            if (trieBytes < 0 || 4 + trieBytes > charsmap.Length || trieBytes % 4 != 0)
                throw new InvalidInputException(path, "normalizer_spec.precompiled_charsmap is malformed");
            _charsmapUnits = new uint[trieBytes / 4];
            Buffer.BlockCopy(charsmap, 4, _charsmapUnits, 0, trieBytes);
            _charsmapStrings = charsmap[(4 + trieBytes)..];
        }
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

    /// <summary>spm Encode of <paramref name="text"/>; offsets are shifted by <paramref name="baseOffset"/>.</summary>
    public List<SpPiece> Encode(string text, int baseOffset = 0)
    {
        var (norm, normStart, normEnd) = Normalize(text, out int[] byteToChar);
        var spans = ModelType == Algorithm.Unigram ? Viterbi(norm) : EncodeBpe(norm);
        var result = new List<SpPiece>(spans.Count);
        for (int i = 0; i < spans.Count; i++)
        {
            var (id, s, e) = spans[i];
            // spm merges a run of unknown pieces into one so that decoding can copy it back.
            while (id == UnkId && i + 1 < spans.Count && spans[i + 1].Id == UnkId) e = spans[++i].End;
            string piece = id == UnkId ? Utf8.UTF8.GetString(norm, s, e - s) : Pieces[id];
            int os = byteToChar[normStart[s]], oe = Math.Max(os, byteToChar[normEnd[e - 1]]);
            // The ▁ of a word stands for the space before it; the token's span is the word itself.
            while (os < oe && IsSpace(text[os])) os++;
            while (oe > os && IsSpace(text[oe - 1])) oe--;
            result.Add(new SpPiece(id, piece, baseOffset + os, baseOffset + oe));
        }
        return result;
    }

    static bool IsSpace(char c) => char.IsWhiteSpace(c) || char.IsControl(c) || c is '\u200b' or '\ufeff';

    /// <summary>
    /// spm's Normalizer::Normalize over UTF-8: returns the normalized bytes and, for every normalized byte, the
    /// [start, end) byte range of the original text it came from (the dummy-prefix ▁ gets an empty range).
    /// </summary>
    internal (byte[] Normalized, int[] Start, int[] End) Normalize(string text, out int[] byteToChar)
    {
        byte[] input = Utf8.UTF8.GetBytes(text);
        byteToChar = new int[input.Length + 1];
        for (int c = 0, b = 0; c < text.Length;)
        {
            char ch = text[c];
            // UTF-8 length of this character; a lone surrogate is written as U+FFFD (3 bytes).
            int runeChars = char.IsSurrogatePair(text, c) ? 2 : 1;
            int runeBytes = runeChars == 2 ? 4 : ch < 0x80 ? 1 : ch < 0x800 ? 2 : 3;
            for (int k = 0; k < runeBytes; k++) byteToChar[b + k] = c;
            b += runeBytes; c += runeChars;
        }
        byteToChar[input.Length] = text.Length;

        var norm = new List<byte>(input.Length + 8);
        var toOrig = new List<int>(input.Length + 8);
        var toOrigEnd = new List<int>(input.Length + 8);
        int pos = 0;
        if (_removeExtraWhitespaces)
            while (pos < input.Length)
            {
                var rep = NormalizePrefix(input, pos, out int len);
                if (!(rep.Length == 1 && rep[0] == (byte)' ')) break;
                pos += len;
            }
        if (pos == input.Length) return ([], [], []);

        void AppendSpace(int orig, int origEnd)
        {
            if (_escapeWhitespaces) foreach (byte b in SpaceSymbolUtf8) { norm.Add(b); toOrig.Add(orig); toOrigEnd.Add(origEnd); }
            else { norm.Add((byte)' '); toOrig.Add(orig); toOrigEnd.Add(origEnd); }
        }
        if (_addDummyPrefix) AppendSpace(pos, pos);

        bool prevSpace = _removeExtraWhitespaces;
        while (pos < input.Length)
        {
            var rep = NormalizePrefix(input, pos, out int len);
            int k = 0;
            while (prevSpace && k < rep.Length && rep[k] == (byte)' ') k++;
            if (k < rep.Length)
            {
                for (int n = k; n < rep.Length; n++)
                {
                    if (rep[n] == (byte)' ') AppendSpace(pos, pos + len);
                    else { norm.Add(rep[n]); toOrig.Add(pos); toOrigEnd.Add(pos + len); }
                }
                prevSpace = rep[^1] == (byte)' ';
            }
            pos += len;
            if (!_removeExtraWhitespaces) prevSpace = false;
        }
        if (_removeExtraWhitespaces)
        {
            byte[] space = _escapeWhitespaces ? SpaceSymbolUtf8 : [(byte)' '];
            while (EndsWith(norm, space))
            {
                int length = norm.Count - space.Length;
                norm.RemoveRange(length, space.Length);
                toOrig.RemoveRange(length, space.Length);
                toOrigEnd.RemoveRange(length, space.Length);
            }
        }
        return (norm.ToArray(), toOrig.ToArray(), toOrigEnd.ToArray());
    }

    static bool EndsWith(List<byte> s, byte[] suffix)
    {
        if (s.Count < suffix.Length) return false;
        for (int i = 0; i < suffix.Length; i++) if (s[s.Count - suffix.Length + i] != suffix[i]) return false;
        return true;
    }

    // Longest charsmap rule matching at pos, else the next UTF-8 character unchanged.
    ReadOnlySpan<byte> NormalizePrefix(byte[] input, int pos, out int consumed)
    {
        if (_charsmapUnits != null)
        {
            var (len, value) = LongestCharsmapMatch(input, pos);
            if (len > 0)
            {
                int end = value;
                while (end < _charsmapStrings!.Length && _charsmapStrings[end] != 0) end++;
                consumed = len;
                return _charsmapStrings.AsSpan(value, end - value);
            }
        }
        int n = Utf8Length(input, pos);
        consumed = n == 0 ? 1 : n;
        return n == 0 ? ReplacementUtf8 : input.AsSpan(pos, n);
    }

    // darts-clone commonPrefixSearch, keeping the longest hit.
    (int Length, int Value) LongestCharsmapMatch(byte[] key, int pos)
    {
        uint[] units = _charsmapUnits!;
        int best = 0, bestValue = 0;
        uint nodePos = 0;
        uint unit = units[0];
        nodePos ^= Offset(unit);
        for (int i = pos; i < key.Length; i++)
        {
            nodePos ^= key[i];
            if (nodePos >= units.Length) break;
            unit = units[nodePos];
            if ((unit & ((1u << 31) | 0xFF)) != key[i]) break;
            nodePos ^= Offset(unit);
            if (((unit >> 8) & 1) != 0 && nodePos < units.Length)
            {
                best = i - pos + 1;
                bestValue = (int)(units[nodePos] & ((1u << 31) - 1));
            }
        }
        return (best, bestValue);
    }

    static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);

    // Length of the valid UTF-8 character at pos, 0 when malformed.
    static int Utf8Length(byte[] s, int pos)
    {
        byte b = s[pos];
        int n = b < 0x80 ? 1 : (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0 || pos + n > s.Length) return 0;
        for (int k = 1; k < n; k++) if ((s[pos + k] & 0xC0) != 0x80) return 0;
        return n;
    }

    static int CharLength(byte[] s, int pos) => Math.Max(1, Math.Min(Utf8Length(s, pos), s.Length - pos));

    /// <summary>
    /// spm's optimized unigram Viterbi: the best float-scored path ending at each byte, candidates visited by start
    /// then length. On an exact tie the later-starting last piece wins ("ff ff f" over "f ff ff"): that is what
    /// spm_encode 0.1.97 does (checked on 20k multilingual lines, 0 mismatches). A character no piece covers is an
    /// unknown node scored min_score - 10.
    /// </summary>
    List<(int Id, int Start, int End)> Viterbi(byte[] s)
    {
        int n = s.Length;
        var bestScore = new float[n + 1];
        var startsAt = new int[n + 1];
        var bestId = new int[n + 1];
        Array.Fill(startsAt, -1);
        float unkScore = _minScore - 10f;
        for (int start = 0; start < n; start = start + CharLength(s, start))
        {
            float here = bestScore[start];
            int mblen = CharLength(s, start);
            bool hasSingle = false;
            int node = 0;
            for (int i = start; i < n; i++)
            {
                node = _trie.Step(node, s[i]);
                if (node < 0) break;
                int id = _trie.Value(node);
                if (id < 0 || Types[id] == PieceType.Unused) continue;
                int length = i + 1 - start;
                float score = Types[id] == PieceType.UserDefined ? length * _maxScore - 0.1f : Scores[id];
                float cand = here + score;
                int end = i + 1;
                if (startsAt[end] < 0 || cand >= bestScore[end]) { bestScore[end] = cand; startsAt[end] = start; bestId[end] = id; }
                if (length == mblen) hasSingle = true;
            }
            if (!hasSingle)
            {
                int end = start + mblen;
                float cand = here + unkScore;
                if (startsAt[end] < 0 || cand > bestScore[end]) { bestScore[end] = cand; startsAt[end] = start; bestId[end] = UnkId; }
            }
        }
        var result = new List<(int, int, int)>();
        for (int end = n; end > 0; end = startsAt[end]) result.Add((bestId[end], startsAt[end], end));
        result.Reverse();
        return result;
    }

    /// <summary>spm BPE: start from characters, repeatedly merge the adjacent pair that forms the best-scored piece
    /// (leftmost on ties); characters outside the vocabulary stay unknown.</summary>
    List<(int Id, int Start, int End)> EncodeBpe(byte[] s)
    {
        var syms = new List<(int Start, int End)>();
        for (int i = 0; i < s.Length; i += CharLength(s, i)) syms.Add((i, i + CharLength(s, i)));
        int? Lookup(int a, int b)
        {
            int node = 0;
            for (int i = a; i < b; i++) { node = _trie.Step(node, s[i]); if (node < 0) return null; }
            int id = _trie.Value(node);
            return id < 0 || Types[id] == PieceType.Unused ? null : id;
        }
        while (true)
        {
            int bestAt = -1; float best = float.NegativeInfinity;
            for (int i = 0; i + 1 < syms.Count; i++)
                if (Lookup(syms[i].Start, syms[i + 1].End) is int id && Scores[id] > best) { best = Scores[id]; bestAt = i; }
            if (bestAt < 0) break;
            syms[bestAt] = (syms[bestAt].Start, syms[bestAt + 1].End);
            syms.RemoveAt(bestAt + 1);
        }
        return syms.Select(x => (Lookup(x.Start, x.End) ?? UnkId, x.Start, x.End)).ToList();
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

    /// <summary>Byte trie of the vocabulary. Built with a dictionary, then frozen into sorted child arrays that a
    /// binary search walks (no hashing on the hot path).</summary>
    sealed class ByteTrie
    {
        Dictionary<long, int>? _building = [];
        readonly List<int> _value = [-1];
        int[] _childStart = [], _childCount = [], _childNode = [];
        byte[] _childByte = [];

        public void Add(byte[] key, int id)
        {
            int node = 0;
            foreach (byte b in key)
            {
                long k = ((long)node << 8) | b;
                if (!_building!.TryGetValue(k, out int child)) { child = _value.Count; _value.Add(-1); _building[k] = child; }
                node = child;
            }
            if (_value[node] < 0) _value[node] = id;
        }

        public void Freeze()
        {
            var edges = _building!.Select(kv => (Parent: (int)(kv.Key >> 8), Byte: (byte)(kv.Key & 0xFF), Child: kv.Value))
                .OrderBy(e => e.Parent).ThenBy(e => e.Byte).ToArray();
            int n = _value.Count;
            _childStart = new int[n]; _childCount = new int[n];
            _childByte = edges.Select(e => e.Byte).ToArray();
            _childNode = edges.Select(e => e.Child).ToArray();
            for (int i = edges.Length - 1; i >= 0; i--) { _childStart[edges[i].Parent] = i; _childCount[edges[i].Parent]++; }
            _building = null;
        }

        public int Step(int node, byte b)
        {
            int lo = _childStart[node], hi = lo + _childCount[node] - 1;
            while (lo <= hi)
            {
                int mid = (lo + hi) >> 1;
                byte m = _childByte[mid];
                if (m == b) return _childNode[mid];
                if (m < b) lo = mid + 1; else hi = mid - 1;
            }
            return -1;
        }

        public int Value(int node) => _value[node];
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
