namespace Stilts.Metrics;

/// <summary>One chunk as seqeval reports it: type and inclusive token offsets in the flattened sequence.</summary>
public readonly record struct Chunk(string Type, int Start, int End);

/// <summary>Which seqeval release's chunk-type rule to follow; the chunk boundary rules are the same in both.</summary>
public enum SeqevalVersion
{
    /// <summary>0.0.12/0.0.13 (what XTREME's numbers were produced with): type = text after the last '-', else the whole tag.</summary>
    V0_0_12,
    /// <summary>1.x default (non-strict) mode: type = tag[1..] after its first '-', "_" when empty ("NOUN" → "OUN").</summary>
    V1,
}

/// <summary>Micro entity-level scores in percent, plus the counts they come from.</summary>
public sealed record EntityScore(double Precision, double Recall, double F1, int Correct, int Predicted, int Gold);

/// <summary>
/// seqeval's chunk F1 as XTREME computes it for PAN-X and UD-POS (seqeval 0.0.12/0.0.13, prefix mode).
/// A tag's "prefix" is its first character and its type is the text after the last '-' (the whole tag when there is
/// none). So un-prefixed POS tags chunk by their first letter: "NOUN" is prefix 'N', type "NOUN", and a run of equal
/// POS tags is one chunk, which is why POS "F1" is close to, but not, token accuracy. "INTJ" acts as an I- tag and
/// "SCONJ"/"SYM" as S- tags. An I- after O (or after another type) opens a chunk (IOB1 leniency).
/// seqeval 1.x (<see cref="SeqevalVersion.V1"/>) differs only in the type: text after the first '-' of tag[1..] ("OUN"
/// for "NOUN", "LOC-X" for "B-LOC-X"), "_" when empty; the chunk boundaries of UPOS/IOB2 data come out the same, only
/// the reported type names and tags with several '-' differ.
/// </summary>
public static class Seqeval
{
    /// <summary>get_entities on a list of sentences: flattened with an "O" after every sentence, then chunked.</summary>
    public static IReadOnlyList<Chunk> Entities(IReadOnlyList<IReadOnlyList<string>> sentences,
        SeqevalVersion version = SeqevalVersion.V0_0_12)
    {
        var flat = new List<string>();
        foreach (var sentence in sentences) { flat.AddRange(sentence); flat.Add("O"); }
        return Entities(flat, version);
    }

    /// <summary>get_entities on one flat tag sequence.</summary>
    public static IReadOnlyList<Chunk> Entities(IReadOnlyList<string> tags, SeqevalVersion version = SeqevalVersion.V0_0_12)
    {
        var chunks = new List<Chunk>();
        char prevTag = 'O';
        string prevType = "";
        int begin = 0;
        for (int i = 0; i <= tags.Count; i++)
        {
            string tag = i < tags.Count ? tags[i] : "O";
            if (tag.Length == 0) throw new ArgumentException($"empty tag at position {i}", nameof(tags));
            char prefix = tag[0];
            string type = version == SeqevalVersion.V0_0_12 ? tag[(tag.LastIndexOf('-') + 1)..] : ModernType(tag);
            if (EndOfChunk(prevTag, prefix, prevType, type)) chunks.Add(new Chunk(prevType, begin, i - 1));
            if (StartOfChunk(prevTag, prefix, prevType, type)) begin = i;
            prevTag = prefix;
            prevType = type;
        }
        return chunks;
    }

    static string ModernType(string tag)
    {
        string rest = tag[1..];
        int dash = rest.IndexOf('-');
        string type = dash >= 0 ? rest[(dash + 1)..] : rest;
        return type.Length > 0 ? type : "_";
    }

    static bool EndOfChunk(char prev, char tag, string prevType, string type) =>
        prev is 'E' or 'S'
        || (prev is 'B' or 'I' && tag is 'B' or 'S' or 'O')
        || (prev != 'O' && prev != '.' && prevType != type);

    static bool StartOfChunk(char prev, char tag, string prevType, string type) =>
        tag is 'B' or 'S'
        || (prev is 'E' or 'S' or 'O' && tag is 'E' or 'I')
        || (tag != 'O' && tag != '.' && prevType != type);

    /// <summary>
    /// Micro precision/recall/F1 over chunk sets of all sentences, in percent (seqeval fraction × 100, as
    /// evaluate.py reports). 0 where a denominator is 0. Sentence lengths are not checked, as in seqeval 0.0.x.
    /// </summary>
    public static EntityScore Score(IReadOnlyList<IReadOnlyList<string>> gold, IReadOnlyList<IReadOnlyList<string>> predicted,
        SeqevalVersion version = SeqevalVersion.V0_0_12)
    {
        var goldSet = new HashSet<Chunk>(Entities(gold, version));
        var predSet = new HashSet<Chunk>(Entities(predicted, version));
        int correct = goldSet.Count(predSet.Contains);
        double p = predSet.Count > 0 ? (double)correct / predSet.Count : 0;
        double r = goldSet.Count > 0 ? (double)correct / goldSet.Count : 0;
        double f1 = p + r > 0 ? 2 * p * r / (p + r) : 0;
        return new EntityScore(p * 100, r * 100, f1 * 100, correct, predSet.Count, goldSet.Count);
    }
}
