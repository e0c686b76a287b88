using Stilts.Tasks;
using Stilts.Tasks.TextToText;

namespace Stilts.Tests.TextToText;

public sealed class TextToTextFormatTests
{
    static readonly Verbalizer Xnli = Verbalizer.For(TaskRegistry.Get("xnli"));
    static readonly Verbalizer PanX = Verbalizer.For(TaskRegistry.Get("panx"));
    static readonly Verbalizer UdPos = Verbalizer.For(TaskRegistry.Get("udpos"));

    [Fact]
    public void PairClassificationReadsAsPrefixedFieldsWithTheLabelWord()
    {
        var t = TextToTextFormatter.Format(Xnli, new PairClassificationExample("1", "A cat sleeps.", "An animal rests.", "entailment"));
        Assert.Equal("xnli premise: A cat sleeps. hypothesis: An animal rests.", t.Input);
        Assert.Equal("entailment", t.Target);
        Assert.Empty(t.Choices);
        Assert.Null(TextToTextFormatter.Format(Xnli, new PairClassificationExample("2", "a", "b", null)).Target);
    }

    [Fact]
    public void NumericParaphraseLabelsBecomeWordsAndDecodeBack()
    {
        var pawsx = Verbalizer.For(TaskRegistry.Get("pawsx"));
        var t = TextToTextFormatter.Format(pawsx, new PairClassificationExample("1", "x y", "y x", "1"));
        Assert.Equal("pawsx sentence1: x y sentence2: y x", t.Input);
        Assert.Equal("paraphrase", t.Target);
        Assert.Equal("0", TextToTextDecoder.Label(pawsx, " Different "));
        Assert.Equal(1, TextToTextDecoder.LabelIndex(pawsx, "paraphrase"));
        Assert.Null(TextToTextDecoder.Label(pawsx, "maybe"));
        Assert.Equal(-1, TextToTextDecoder.LabelIndex(pawsx, "maybe"));
        Assert.Throws<InvalidInputException>(() => TextToTextFormatter.Format(pawsx, new PairClassificationExample("2", "a", "b", "7")));
    }

    [Fact]
    public void NerTagsBecomeAnEntityListAndDecodeBackToTheSameTags()
    {
        string[] words = ["John", "Smith", "flew", "to", "Paris", "with", "Acme", "Corp", "and", "Mary"];
        string[] tags = ["B-PER", "I-PER", "O", "O", "B-LOC", "O", "B-ORG", "I-ORG", "O", "B-PER"];
        Assert.Equal(TargetForm.EntityList, PanX.Target);
        var t = TextToTextFormatter.Format(PanX, new TaggingExample("1", words, tags));
        Assert.Equal("panx sentence: John Smith flew to Paris with Acme Corp and Mary", t.Input);
        Assert.Equal("PER: John Smith $$ LOC: Paris $$ ORG: Acme Corp $$ PER: Mary", t.Target);
        Assert.Equal(tags, TextToTextDecoder.Tags(PanX, words, t.Target!));
    }

    [Fact]
    public void EntityDecodingMatchesLeftToRightAndDropsWhatItCannotPlace()
    {
        string[] words = ["Paris", "met", "Paris", "in", "Rome"];
        // The second "LOC: Paris" lands on the second occurrence; MISC is no PAN-X type; "Berlin" is not in the sentence.
        var tags = TextToTextDecoder.EntityTags(PanX, words, "PER: Paris $$ LOC: Paris $$ MISC: in $$ LOC: Berlin $$ LOC: Rome");
        Assert.Equal(["B-PER", "O", "B-LOC", "O", "B-LOC"], tags);
        Assert.Equal(["O", "O", "O", "O", "O"], TextToTextDecoder.EntityTags(PanX, words, "none"));
        Assert.Equal("none", TextToTextFormatter.EntityList(words, ["O", "O", "O", "O", "O"]));
    }

    [Fact]
    public void StrayInsideTagOpensAnEntityAsSeqevalReadsIt()
    {
        Assert.Equal([("LOC", 1, 3), ("PER", 3, 4)], TextToTextFormatter.Entities(["O", "I-LOC", "I-LOC", "B-PER"]));
    }

    [Fact]
    public void PosTagsAreASequenceDecodedToOneTagPerWord()
    {
        Assert.Equal(TargetForm.TagSequence, UdPos.Target);
        var t = TextToTextFormatter.Format(UdPos, new TaggingExample("1", ["Dogs", "bark", "."], ["NOUN", "VERB", "PUNCT"]));
        Assert.Equal("udpos sentence: Dogs bark .", t.Input);
        Assert.Equal("NOUN VERB PUNCT", t.Target);
        Assert.Equal(["NOUN", "VERB", "PUNCT"], TextToTextDecoder.Tags(UdPos, ["Dogs", "bark", "."], t.Target!));
        // Too short, an unknown tag, too long: one tag per word, unknown and missing ones become X.
        Assert.Equal(["NOUN", "X", "X"], TextToTextDecoder.TagSequence(UdPos, 3, "NOUN FOO"));
        Assert.Equal(["NOUN", "VERB"], TextToTextDecoder.TagSequence(UdPos, 2, "NOUN VERB PUNCT DET"));
    }

    [Fact]
    public void SpanQaReadsAsQuestionAndContextWithTheAnswerAsTarget()
    {
        var v = Verbalizer.For(TaskRegistry.Get("xquad"));
        var e = new SpanQaExample("q1", "Where do cats sleep?", "Cats sleep on warm roofs.", [new SpanAnswer("on warm roofs", 11)], false);
        var t = TextToTextFormatter.Format(v, e);
        Assert.Equal("question: Where do cats sleep? context: Cats sleep on warm roofs.", t.Input);
        Assert.Equal("on warm roofs", t.Target);
        Assert.Equal("on warm roofs", TextToTextDecoder.Answer("  on warm roofs "));
        Assert.Equal("", TextToTextFormatter.Format(v, e with { Answers = [], IsImpossible = true }).Target);
        Assert.Null(TextToTextFormatter.Format(v, e with { Answers = [] }).Target);
    }

    [Fact]
    public void MultipleChoiceScoresChoicesAsTargetsOrListsThemForGeneration()
    {
        var score = Verbalizer.For(TaskRegistry.Get("xcopa"));
        var e = new MultipleChoiceExample("c1", "The glass fell.", "effect", ["It broke.", "It sang."], 0);
        var t = TextToTextFormatter.Format(score, e);
        Assert.Equal("xcopa context: The glass fell. question: effect", t.Input);
        Assert.Equal("It broke.", t.Target);
        Assert.Equal(["It broke.", "It sang."], t.Choices);

        var generate = score with { ChoiceMode = ChoiceMode.Generate };
        Assert.Equal("xcopa context: The glass fell. question: effect choice1: It broke. choice2: It sang.", TextToTextFormatter.Format(generate, e).Input);
        Assert.Equal(1, TextToTextDecoder.Choice(e.Choices, "it sang."));
        Assert.Equal(0, TextToTextDecoder.Choice(e.Choices, "broke."));       // partial overlap
        Assert.Equal(-1, TextToTextDecoder.Choice(e.Choices, "nothing alike"));
    }

    [Fact]
    public void RetrievalTasksHaveNoTextToTextForm()
    {
        Assert.Throws<InvalidInputException>(() => Verbalizer.For(TaskRegistry.Get("tatoeba")));
    }

    [Fact]
    public void FeaturizerTruncatesEndsWithEosAndPadsLabelsWithIgnore()
    {
        var tok = new WordT5Tokenizer();
        var a = TextToTextFeaturizer.Featurize(tok, new TextToTextExample("a b c d e f", "x y z", []), maxInputLength: 4, maxTargetLength: 3);
        Assert.Equal(["a", "b", "c", "</s>"], a.InputIds.Select(tok.IdToToken));
        Assert.Equal(["x", "y", "</s>"], a.LabelIds.Select(tok.IdToToken));
        var b = TextToTextFeaturizer.Featurize(tok, new TextToTextExample("a", "z", ["x y", "z"]), 8, 8);
        Assert.Equal(["x", "y", "</s>"], b.ChoiceIds[0].Select(tok.IdToToken));

        using var batch = TextToTextFeaturizer.Collate([a, b], tok.Special.PadId);
        Assert.Equal(new long[] { 2, 4 }, batch.InputIds.shape);
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 1, 0, 0 }, batch.AttentionMask.data<long>().ToArray());
        Assert.Equal(new long[] { a.InputIds[0], a.InputIds[1], a.InputIds[2], 1, a.InputIds[0], 1, 0, 0 }, batch.InputIds.data<long>().ToArray());
        long z = tok.TokenToId("z")!.Value, x = tok.TokenToId("x")!.Value, y = tok.TokenToId("y")!.Value;
        Assert.Equal(new long[] { x, y, 1, z, 1, -100 }, batch.Labels!.data<long>().ToArray());
    }
}
