using Stilts.Metrics;

namespace Stilts.Tests.Metrics;

public sealed class SeqevalTests
{
    static IReadOnlyList<IReadOnlyList<string>> S(params string[] sentences) =>
        sentences.Select(s => (IReadOnlyList<string>)s.Split(' ')).ToList();

    [Fact]
    public void UnprefixedPosTagsChunkByFirstLetterAndRunsMerge()
    {
        var chunks = Seqeval.Entities(S("NOUN NOUN VERB INTJ INTJ SCONJ SCONJ PUNCT PROPN"));
        Chunk[] expected =
        [
            new("NOUN", 0, 1), // equal tags merge into one chunk
            new("VERB", 2, 2),
            new("INTJ", 3, 4), // 'I' continues like I-
            new("SCONJ", 5, 5), new("SCONJ", 6, 6), // 'S' is a single-token chunk
            new("PUNCT", 7, 7), new("PROPN", 8, 8),
        ];
        Assert.Equal(expected, chunks);
    }

    [Fact]
    public void PosF1IsChunkF1NotTokenAccuracy()
    {
        var gold = S("NOUN NOUN VERB PUNCT", "PRON VERB");
        var pred = S("NOUN VERB VERB PUNCT", "PRON VERB");
        // gold chunks: NOUN(0,1) VERB(2,2) PUNCT(3,3) PRON(5,5) VERB(6,6); an "O" sits at 4 between sentences.
        // pred chunks: NOUN(0,0) VERB(1,2) PUNCT(3,3) PRON(5,5) VERB(6,6). 3 of 5 agree; token accuracy would be 5/6.
        var s = Seqeval.Score(gold, pred);
        Assert.Equal((3, 5, 5), (s.Correct, s.Predicted, s.Gold));
        Assert.Equal(60.0, s.F1, 12);
        Assert.Equal(60.0, s.Precision, 12);
        Assert.Equal(60.0, s.Recall, 12);
    }

    [Fact]
    public void Iob2EntitiesWithLenientIAfterO()
    {
        // An I- after O (or after another type) opens a chunk, so this prediction equals the gold chunks.
        var gold = S("B-PER I-PER O B-LOC B-ORG");
        var pred = S("I-PER I-PER O I-LOC I-ORG");
        Assert.Equal([new Chunk("PER", 0, 1), new Chunk("LOC", 3, 3), new Chunk("ORG", 4, 4)], Seqeval.Entities(pred));
        Assert.Equal(100.0, Seqeval.Score(gold, pred).F1, 12);
    }

    [Fact]
    public void ChunksDoNotCrossSentencesAndTypesSplitChunks()
    {
        Assert.Equal([new Chunk("PER", 0, 0), new Chunk("PER", 2, 2)], Seqeval.Entities(S("B-PER", "I-PER")));
        Assert.Equal([new Chunk("PER", 0, 0), new Chunk("ORG", 1, 1)], Seqeval.Entities(S("B-PER I-ORG")));

        var gold = S("B-PER I-PER O B-LOC", "O B-ORG I-ORG");
        var pred = S("B-PER O O B-LOC", "O B-ORG I-ORG");
        // pred: PER(0,0) LOC(3,3) ORG(6,7); gold: PER(0,1) LOC(3,3) ORG(6,7) → P = R = 2/3.
        var s = Seqeval.Score(gold, pred);
        Assert.Equal(200.0 / 3.0, s.F1, 12);
    }

    [Fact]
    public void NoPredictedChunksGivesZeroNotNaN()
    {
        var s = Seqeval.Score(S("B-PER O"), S("O O"));
        Assert.Equal((0.0, 0.0, 0.0), (s.F1, s.Precision, s.Recall));
    }

    [Fact]
    public void Seqeval1xDiffersOnlyInTypeNames()
    {
        var pos = S("NOUN NOUN VERB O B-LOC-X I-ORG-X");
        Assert.Equal(
            [new Chunk("NOUN", 0, 1), new Chunk("VERB", 2, 2), new Chunk("X", 4, 5)],
            Seqeval.Entities(pos));
        // 1.x: "NOUN" has type "OUN"; "B-LOC-X" and "I-ORG-X" have different types, so they no longer merge.
        Assert.Equal(
            [new Chunk("OUN", 0, 1), new Chunk("ERB", 2, 2), new Chunk("LOC-X", 4, 4), new Chunk("ORG-X", 5, 5)],
            Seqeval.Entities(pos, SeqevalVersion.V1));
    }
}
