using Stilts.Tokenization;

namespace Stilts.Tests;

/// <summary>
/// Where a family puts its special tokens around one text or a pair: ids before the first text, after it, before
/// the second and after it; the second text and what follows it get type id <paramref name="SecondType"/>.
/// </summary>
public sealed record SpecialLayout(int[] Before, int[] AfterFirst, int[] BeforeSecond, int[] AfterSecond, int SecondType)
{
    /// <summary>[CLS] a [SEP] b [SEP], type ids 0 then 1.</summary>
    public static SpecialLayout Bert(int cls, int sep) => new([cls], [sep], [], [sep], 1);

    /// <summary>&lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;, type ids all 0.</summary>
    public static SpecialLayout XlmR(int cls, int sep) => new([cls], [sep], [sep], [sep], 0);

    /// <summary>a &lt;/s&gt; b &lt;/s&gt;, type ids all 0.</summary>
    public static SpecialLayout T5(int eos) => new([], [eos], [], [eos], 0);
}

/// <summary>
/// The shared body of the word-level test tokenizers: whitespace-separated words with their character offsets, ids
/// from a vocabulary that either grows on first sight or is fixed (unseen words become the unk id), and a Decode that
/// joins tokens with spaces. A double says only what differs: its specials, their <see cref="Layout"/>, and, if it
/// likes, how a word splits into pieces (<see cref="Pieces"/>).
/// </summary>
public abstract class WordTokenizer : TextTokenizer
{
    readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    readonly Dictionary<int, string> _names = [];
    readonly bool _grows;
    int _next;

    /// <summary>A vocabulary that hands out ids from <paramref name="firstNewId"/> on, word by word as first seen.</summary>
    protected WordTokenizer(int firstNewId) => (_grows, _next) = (true, firstNewId);

    /// <summary>A fixed vocabulary: a word's id is its index in <paramref name="vocabulary"/>.</summary>
    protected WordTokenizer(IReadOnlyList<string> vocabulary)
    {
        for (int id = 0; id < vocabulary.Count; id++) (_ids[vocabulary[id]], _names[id]) = (id, vocabulary[id]);
    }

    protected abstract SpecialLayout Layout { get; }

    /// <summary>The tokens of one word starting at <paramref name="start"/> in the text; by default the word itself.</summary>
    protected virtual IEnumerable<(string Token, int Start, int End)> Pieces(string word, int start) => [(word, start, start + word.Length)];

    public sealed override Encoding Tokenize(string text)
    {
        var pieces = Words(text).SelectMany(w => Pieces(w.Word, w.Start)).ToList();
        int n = pieces.Count;
        return new Encoding([.. pieces.Select(p => Id(p.Token))], [.. pieces.Select(p => p.Token)], [.. pieces.Select(p => (p.Start, p.End))], new int[n], new int[n]);
    }

    static IEnumerable<(string Word, int Start)> Words(string text)
    {
        for (int i = 0; i < text.Length;)
        {
            if (char.IsWhiteSpace(text[i])) { i++; continue; }
            int start = i;
            while (i < text.Length && !char.IsWhiteSpace(text[i])) i++;
            yield return (text[start..i], start);
        }
    }

    int Id(string token)
    {
        if (_ids.TryGetValue(token, out int id)) return id;
        if (!_grows) return Special.UnkId;
        (_ids[token], _names[_next]) = (_next, token);
        return _next++;
    }

    public sealed override (int[] Ids, int[] TypeIds, int[] SequenceIds) BuildInputs(IReadOnlyList<int> first, IReadOnlyList<int>? second)
    {
        var (ids, types, seqs) = (new List<int>(), new List<int>(), new List<int>());
        void Put(IEnumerable<int> part, int type, int seq)
        {
            foreach (var id in part) { ids.Add(id); types.Add(type); seqs.Add(seq); }
        }
        Put(Layout.Before, 0, -1);
        Put(first, 0, 0);
        Put(Layout.AfterFirst, 0, -1);
        if (second != null)
        {
            Put(Layout.BeforeSecond, 0, -1);
            Put(second, Layout.SecondType, 1);
            Put(Layout.AfterSecond, Layout.SecondType, -1);
        }
        return ([.. ids], [.. types], [.. seqs]);
    }

    public sealed override int NumSpecialTokens(bool pair) =>
        Layout.Before.Length + Layout.AfterFirst.Length + (pair ? Layout.BeforeSecond.Length + Layout.AfterSecond.Length : 0);

    public override string IdToToken(int id) =>
        _names.TryGetValue(id, out var name) ? name : SpecialNames().TryGetValue(id, out var special) ? special : Special.Unk;

    public override int? TokenToId(string token) => _ids.TryGetValue(token, out var id) ? id : null;

    /// <summary>Tokens joined by spaces, "##" continuation pieces glued to the one before.</summary>
    public override string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false)
    {
        var specials = SpecialNames();
        return string.Join(" ", ids.Where(id => !skipSpecialTokens || !specials.ContainsKey(id)).Select(IdToToken)).Replace(" ##", "");
    }

    /// <summary>Token strings of ids, for readable assertions.</summary>
    public string[] Names(IEnumerable<int> ids) => ids.Select(IdToToken).ToArray();

    Dictionary<int, string> SpecialNames()
    {
        var s = Special;
        var result = new Dictionary<int, string> { [s.PadId] = s.Pad, [s.UnkId] = s.Unk };
        foreach (var (name, id) in new[] { (s.Cls, s.ClsId), (s.Sep, s.SepId), (s.Mask, s.MaskId), (s.Bos, s.BosId), (s.Eos, s.EosId) })
            if (name != null && id is int i) result.TryAdd(i, name);
        return result;
    }
}
