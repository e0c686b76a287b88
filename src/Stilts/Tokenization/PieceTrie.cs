using System.Runtime.CompilerServices;

namespace Stilts.Tokenization;

/// <summary>
/// A vocabulary as a double-array trie over UTF-16 code units: the child of node s on char c is t = Base[s] + Code[c],
/// valid when Check[t] == s. Chars are first renumbered densely (most frequent first) so the array stays compact.
/// Walking it costs two array reads per char, with no hashing and no allocation, which is what the Viterbi loop needs.
/// </summary>
internal sealed class PieceTrie
{
    internal struct Unit
    {
        public int Base;
        public int Check;   // parent node; -1 while the slot is free
        public int Value;   // the key's value ending here, -1 for none
    }

    readonly int[] _code = new int[char.MaxValue + 1];   // 0: no key uses this char
    Unit[] _units = [];
    int _firstFree = 1;

    /// <summary>The arrays behind <see cref="Step"/>, for loops that inline it. A char no key uses has code 0, whose
    /// transition never checks out (children sit at Base + code for codes from 1), so it needs no test of its own.</summary>
    internal int[] Codes => _code;
    internal Unit[] Units => _units;

    /// <summary>Builds the trie; when a key repeats, its first entry's value is kept (as spm's first piece wins).</summary>
    public PieceTrie(IReadOnlyList<(string Key, int Value)> entries)
    {
        var frequency = new int[char.MaxValue + 1];
        foreach (var (key, _) in entries) foreach (char c in key) frequency[c]++;
        var used = Enumerable.Range(0, frequency.Length).Where(c => frequency[c] > 0).OrderByDescending(c => frequency[c]).ToArray();
        for (int i = 0; i < used.Length; i++) _code[used[i]] = i + 1;

        // Sorting groups every prefix's keys together, the shorter (the node's own key) first; ties keep entry order.
        var order = Enumerable.Range(0, entries.Count).Where(i => entries[i].Key.Length > 0)
            .OrderBy(i => entries[i].Key, StringComparer.Ordinal).ThenBy(i => i).ToArray();
        Grow(Math.Max(1024, used.Length + 2));
        _units[0].Check = int.MinValue; // the root
        Place(entries, order, 0, order.Length, 0, 0);
        Array.Resize(ref _units, Math.Max(_firstFree, LastUsed() + 1));
    }

    /// <summary>The node reached from <paramref name="node"/> on <paramref name="c"/>, or -1. The root is node 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Step(int node, char c)
    {
        int t = _units[node].Base + _code[c];
        var units = _units;
        return (uint)t < (uint)units.Length && units[t].Check == node ? t : -1;
    }

    /// <summary>The value of the key ending at <paramref name="node"/>, or -1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Value(int node) => _units[node].Value;

    /// <summary>The value of exactly <paramref name="key"/>, or -1.</summary>
    public int Find(ReadOnlySpan<char> key)
    {
        int node = 0;
        foreach (char c in key) if ((node = Step(node, c)) < 0) return -1;
        return Value(node);
    }

    /// <summary>Rewrites every stored value (e.g. to hide unused pieces behind -1 while keeping their nodes).</summary>
    public void MapValues(Func<int, int> map)
    {
        for (int i = 0; i < _units.Length; i++) if (_units[i].Value >= 0) _units[i].Value = map(_units[i].Value);
    }

    // Gives `node` the keys order[lo..hi), which share their first `depth` chars, then recurses into its children.
    void Place(IReadOnlyList<(string Key, int Value)> entries, int[] order, int lo, int hi, int depth, int node)
    {
        int i = lo;
        for (; i < hi && entries[order[i]].Key.Length == depth; i++)
            if (_units[node].Value < 0) _units[node].Value = entries[order[i]].Value;
        if (i == hi) return;

        var children = new List<(int Code, int Lo, int Hi)>();
        while (i < hi)
        {
            char c = entries[order[i]].Key[depth];
            int j = i + 1;
            while (j < hi && entries[order[j]].Key[depth] == c) j++;
            children.Add((_code[c], i, j));
            i = j;
        }
        int b = FindBase(children);
        _units[node].Base = b;
        foreach (var (code, _, _) in children) _units[b + code].Check = node;
        foreach (var (code, clo, chi) in children) Place(entries, order, clo, chi, depth + 1, b + code);
    }

    // First-fit: the lowest base whose slots for all child codes are free.
    int FindBase(List<(int Code, int Lo, int Hi)> children)
    {
        int first = children[0].Code, maxCode = children.Max(c => c.Code);
        for (int p = _firstFree; ; p++)
        {
            if (p >= _units.Length) Grow(_units.Length * 2);
            if (_units[p].Check != -1) continue;
            int b = p - first;
            if (b < 0) continue;
            if (b + maxCode >= _units.Length) Grow(Math.Max(_units.Length * 2, b + maxCode + 1));
            bool fits = true;
            foreach (var (code, _, _) in children) if (_units[b + code].Check != -1) { fits = false; break; }
            if (!fits) continue;
            // Slots taken now may leave the first free one behind; later searches start there.
            while (_firstFree < _units.Length && (_units[_firstFree].Check != -1 || IsChildSlot(_firstFree, b, children))) _firstFree++;
            return b;
        }
    }

    static bool IsChildSlot(int slot, int b, List<(int Code, int Lo, int Hi)> children)
    {
        foreach (var (code, _, _) in children) if (b + code == slot) return true;
        return false;
    }

    void Grow(int size)
    {
        int old = _units.Length;
        if (size <= old) return;
        Array.Resize(ref _units, size);
        for (int i = old; i < size; i++) _units[i] = new Unit { Base = 0, Check = -1, Value = -1 };
    }

    int LastUsed()
    {
        for (int i = _units.Length - 1; i > 0; i--) if (_units[i].Check != -1) return i;
        return 0;
    }
}
