using System.Buffers;
using System.Text;

namespace Stilts.Tokenization;

/// <summary>Normalized text of one call, reused across calls: the chars and, when asked, the [start, end) range of
/// original chars each normalized char came from.</summary>
internal sealed class NormalizedText
{
    public char[] Chars = new char[256];
    public int[] OriginalStart = new int[256];
    public int[] OriginalEnd = new int[256];

    public void EnsureCapacity(int size)
    {
        if (size <= Chars.Length) return;
        int grown = Math.Max(size, Chars.Length * 2);
        Array.Resize(ref Chars, grown);
        Array.Resize(ref OriginalStart, grown);
        Array.Resize(ref OriginalEnd, grown);
    }
}

/// <summary>
/// spm's Normalizer (0.1.9x) over UTF-16: the precompiled charsmap (a darts-clone double array over UTF-8 keys whose
/// values point at NUL-terminated replacements), leading, trailing and repeated whitespace removed, the dummy-prefix
/// ▁ and spaces escaped to ▁. spm walks UTF-8 bytes; we walk chars with a table that settles most BMP chars in one
/// read (unchanged, or one replacement) and walk the double array only where a longer key could start (combining
/// sequences), for surrogates and for supplementary chars. Charsmap keys are whole characters (spm builds them from
/// code point sequences), so a match always ends on a char boundary.
/// </summary>
internal sealed class SentencePieceNormalizer
{
    const char SpaceSymbol = '\u2581';
    const int Identity = -1;             // a char's rule: unchanged; >= 0 is an index into _replacements
    const byte Plain = 1;                // flags: rule Identity and not ' ', so the char is just copied
    const byte StartsLonger = 2;         // a key longer than this char starts with it
    const byte ContinuesLonger = 4;      // the char can follow a StartsLonger char inside a key (surrogates: always)
    const byte PlainSpace = 8;           // ' ' with no rule of its own: only the whitespace handling applies

    readonly bool _addDummyPrefix, _removeExtraWhitespaces, _escapeWhitespaces;
    readonly uint[]? _units;                 // darts-clone double array over UTF-8 bytes
    readonly byte[] _strings = [];           // NUL-terminated UTF-8 replacements the array's values point into
    readonly int[] _rule = new int[char.MaxValue + 1];     // each BMP char's rule when no longer key matches
    readonly byte[] _flags = new byte[char.MaxValue + 1];
    readonly List<string> _replacements = [];
    readonly Dictionary<int, int> _replacementAt = [];  // value (offset into _strings) -> index into _replacements

    public SentencePieceNormalizer(byte[]? charsmap, bool addDummyPrefix, bool removeExtraWhitespaces, bool escapeWhitespaces, string path)
    {
        (_addDummyPrefix, _removeExtraWhitespaces, _escapeWhitespaces) = (addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces);
        if (charsmap is { Length: > 4 })
        {
            int trieBytes = (int)BitConverter.ToUInt32(charsmap, 0);
            if (trieBytes < 0 || 4 + trieBytes > charsmap.Length || trieBytes % 4 != 0)
                throw new InvalidInputException(path, "normalizer_spec.precompiled_charsmap is malformed");
            _units = new uint[trieBytes / 4];
            Buffer.BlockCopy(charsmap, 4, _units, 0, trieBytes);
            _strings = charsmap[(4 + trieBytes)..];
            for (int start = 0; start < _strings.Length;)
            {
                int end = Array.IndexOf(_strings, (byte)0, start);
                if (end < 0) end = _strings.Length;
                _replacementAt[start] = _replacements.Count;
                _replacements.Add(System.Text.Encoding.UTF8.GetString(_strings, start, end - start));
                start = end + 1;
            }
        }
        Span<byte> utf8 = stackalloc byte[4];
        for (int c = 0; c <= char.MaxValue; c++)
        {
            if (char.IsSurrogate((char)c)) { _rule[c] = Identity; _flags[c] = ContinuesLonger; continue; }
            uint node = _units == null ? 0 : Offset(_units[0]);
            bool alive = _units != null, leaf = false;
            foreach (byte b in utf8[..new Rune(c).EncodeToUtf8(utf8)]) if (alive) alive = Step(ref node, b, out leaf);
            // A key ending inside the char's bytes would not be a whole character; spm's builder never writes one.
            _rule[c] = alive && leaf ? ReplacementIndex((int)(_units![node] & 0x7FFFFFFF)) : Identity;
            if (_rule[c] == Identity && c != ' ') _flags[c] |= Plain;
            if (alive && MarkContinuations(node)) _flags[c] |= StartsLonger;
        }
        if (_rule[' '] == Identity && (_flags[' '] & StartsLonger) == 0) _flags[' '] |= PlainSpace;
    }

    // Flags every BMP char that can be walked from `node` (the node after some char); true if there is any child.
    bool MarkContinuations(uint node)
    {
        bool any = false;
        for (int b1 = 1; b1 < 256; b1++)
        {
            uint n1 = node;
            if (!Step(ref n1, (byte)b1, out _)) continue;
            any = true;
            if (b1 < 0x80) { _flags[b1] |= ContinuesLonger; continue; }
            if (b1 is < 0xC2 or > 0xEF) continue;   // supplementary chars start with a surrogate, flagged already
            for (int b2 = 0x80; b2 < 0xC0; b2++)
            {
                uint n2 = n1;
                if (!Step(ref n2, (byte)b2, out _)) continue;
                if (b1 < 0xE0) { _flags[((b1 & 0x1F) << 6) | (b2 & 0x3F)] |= ContinuesLonger; continue; }
                for (int b3 = 0x80; b3 < 0xC0; b3++)
                {
                    uint n3 = n2;
                    if (Step(ref n3, (byte)b3, out _)) _flags[((b1 & 0x0F) << 12) | ((b2 & 0x3F) << 6) | (b3 & 0x3F)] |= ContinuesLonger;
                }
            }
        }
        return any;
    }

    int ReplacementIndex(int value)
    {
        if (_replacementAt.TryGetValue(value, out int index)) return index;
        _replacements.Add(Replacement(value));
        return _replacementAt[value] = _replacements.Count - 1;
    }

    /// <summary>
    /// Normalizes <paramref name="text"/> into <paramref name="output"/> and returns its length. With
    /// <paramref name="withOffsets"/>, also records for every output char the range of <paramref name="text"/> it came
    /// from (the dummy-prefix ▁ gets an empty range where the text starts).
    /// </summary>
    public int Normalize(ReadOnlySpan<char> text, NormalizedText output, bool withOffsets)
    {
        int length = text.Length, pos = 0;
        if (_removeExtraWhitespaces)
            while (pos < length)
            {
                var rep = Rule(text, pos, out int consumed);
                if (!(rep.Length == 1 && rep[0] == ' ')) break;
                pos += consumed;
            }
        if (pos == length) return 0;

        output.EnsureCapacity(length - pos + 1);
        char[] chars = output.Chars;
        int[] starts = output.OriginalStart, ends = output.OriginalEnd;
        char space = _escapeWhitespaces ? SpaceSymbol : ' ';
        int n = 0;
        if (_addDummyPrefix)
        {
            chars[n] = space;
            if (withOffsets) { starts[n] = pos; ends[n] = pos; }
            n++;
        }
        bool prevSpace = _removeExtraWhitespaces;
        byte[] flags = _flags;
        while (pos < length)
        {
            char c = text[pos];
            byte f = flags[c];
            if ((f & Plain) != 0 && ((f & StartsLonger) == 0 || pos + 1 == length || (flags[text[pos + 1]] & ContinuesLonger) == 0))
            {
                // The common case: the char stays as it is (capacity holds one output char per input char left).
                chars[n] = c;
                if (withOffsets) { starts[n] = pos; ends[n] = pos + 1; }
                n++; pos++;
                prevSpace = false;
                continue;
            }
            if ((f & PlainSpace) != 0)
            {
                // A space: kept (as ▁) unless it repeats one when extra whitespace is removed.
                if (!prevSpace)
                {
                    chars[n] = space;
                    if (withOffsets) { starts[n] = pos; ends[n] = pos + 1; }
                    n++;
                    prevSpace = _removeExtraWhitespaces;
                }
                pos++;
                continue;
            }
            var rep = Rule(text, pos, out int consumed);
            int k = 0;
            while (prevSpace && k < rep.Length && rep[k] == ' ') k++;
            if (k < rep.Length)
            {
                if (n + (rep.Length - k) + (length - pos - consumed) + 1 > chars.Length)
                {
                    output.EnsureCapacity(n + (rep.Length - k) + (length - pos - consumed) + 1);
                    (chars, starts, ends) = (output.Chars, output.OriginalStart, output.OriginalEnd);
                }
                for (int r = k; r < rep.Length; r++)
                {
                    chars[n] = rep[r] == ' ' ? space : rep[r];
                    if (withOffsets) { starts[n] = pos; ends[n] = pos + consumed; }
                    n++;
                }
                prevSpace = rep[^1] == ' ';
            }
            pos += consumed;
            if (!_removeExtraWhitespaces) prevSpace = false;
        }
        if (_removeExtraWhitespaces)
            while (n > 0 && chars[n - 1] == space) n--;
        return n;
    }

    // The longest charsmap rule at pos, else the char itself (a lone surrogate reads as U+FFFD, as UTF-8 encoding does).
    ReadOnlySpan<char> Rule(ReadOnlySpan<char> text, int pos, out int consumed)
    {
        char c = text[pos];
        // Without a longer key starting here, the char's own rule is the longest match.
        if (!char.IsSurrogate(c) && ((_flags[c] & StartsLonger) == 0 || pos + 1 == text.Length || (_flags[text[pos + 1]] & ContinuesLonger) == 0))
        {
            consumed = 1;
            int rule = _rule[c];
            return rule == Identity ? text.Slice(pos, 1) : _replacements[rule];
        }

        int best = 0, bestValue = -1;
        if (_units != null)
        {
            Span<byte> utf8 = stackalloc byte[4];
            uint node = Offset(_units[0]);
            for (int i = pos; i < text.Length;)
            {
                if (Rune.DecodeFromUtf16(text[i..], out var rune, out int chars) != OperationStatus.Done) rune = Rune.ReplacementChar;
                int bytes = rune.EncodeToUtf8(utf8);
                bool leaf = false, alive = true;
                for (int b = 0; b < bytes && alive; b++) alive = Step(ref node, utf8[b], out leaf);
                if (!alive) break;
                i += chars;
                if (leaf) { best = i - pos; bestValue = (int)(_units[node] & 0x7FFFFFFF); }
            }
        }
        if (best > 0) { consumed = best; return Replacement(bestValue); }
        if (char.IsHighSurrogate(text[pos]) && pos + 1 < text.Length && char.IsLowSurrogate(text[pos + 1])) { consumed = 2; return text.Slice(pos, 2); }
        consumed = 1;
        return char.IsSurrogate(text[pos]) ? "\uFFFD" : text.Slice(pos, 1);
    }

    // Every replacement start was decoded at load; a value pointing inside one (spm's builder never writes that) is
    // decoded on the spot.
    string Replacement(int value)
    {
        if (_replacementAt.TryGetValue(value, out int index)) return _replacements[index];
        int end = Array.IndexOf(_strings, (byte)0, value);
        return System.Text.Encoding.UTF8.GetString(_strings, value, (end < 0 ? _strings.Length : end) - value);
    }

    // darts-clone transition on one byte; leaf says a key ends here, its value then sits at units[node].
    bool Step(ref uint node, byte label, out bool leaf)
    {
        uint[] units = _units!;
        node ^= label;
        leaf = false;
        if (node >= units.Length) return false;
        uint unit = units[node];
        if ((unit & ((1u << 31) | 0xFF)) != label) return false;
        node ^= Offset(unit);
        leaf = ((unit >> 8) & 1) != 0 && node < units.Length;
        return true;
    }

    static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);
}
