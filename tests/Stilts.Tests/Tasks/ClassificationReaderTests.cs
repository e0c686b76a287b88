using Stilts.Tasks;
using static Stilts.Tests.Tasks.Fixture;

namespace Stilts.Tests.Tasks;

public class ClassificationReaderTests
{
    readonly string dir = TestPaths.NewTempDir("tasks-cls");

    [Fact]
    public void XnliRaw_FiltersByLanguage_ReadsColumns1_6_7_AndPairId()
    {
        string header = T("language", "gold_label", "sentence1_binary_parse", "sentence2_binary_parse", "sentence1_parse",
            "sentence2_parse", "sentence1", "sentence2", "promptID", "pairID", "genre");
        string path = Lines(dir, "xnli.dev.tsv", header,
            T("de", "neutral", "x", "x", "x", "x", "Der Hund schläft.", "Das Tier ruht.", "1", "11", "fiction"),
            T("fr", "entailment", "x", "x", "x", "x", "Le chat mange.", "Un animal mange.", "2", "12", "fiction"),
            T("de", "contradiction", "x", "x", "x", "x", "Es regnet.", "Die Sonne scheint.", "3", "13", "travel"));
        var report = new ReadReport();
        var de = Xnli.ReadRaw(path, "de", report).ToList();
        Assert.Equal(2, de.Count);
        Assert.Equal(new PairClassificationExample("11", "Der Hund schläft.", "Das Tier ruht.", "neutral"), de[0]);
        Assert.Equal("contradiction", de[1].Label);
        Assert.Equal(2, report.Read);
    }

    [Fact]
    public void XnliRaw_UnknownLanguage_ListsValidOnes()
    {
        string path = Lines(dir, "xnli.test.tsv", T("language", "gold_label", "sentence1", "sentence2"));
        var e = Assert.Throws<InvalidInputException>(() => Xnli.ReadRaw(path, "xx").ToList());
        Assert.Contains("\"xx\"", e.Message);
        Assert.Contains("ar bg de el en es fr hi ru sw th tr ur vi zh", e.Message);
    }

    [Fact]
    public void XnliXtreme_MapsContradictory_SkipsMtHeader_AndReadsUnlabelledTest()
    {
        string train = Lines(dir, "train-en.tsv", T("premise", "hypo", "label"),
            T("A man plays guitar.", "Someone makes music.", "entailment"),
            T("The shop is closed.", "The shop is open.", "contradictory"));
        var ex = Xnli.ReadXtreme(train).ToList();
        Assert.Equal(["entailment", "contradiction"], ex.Select(e => e.Label));
        Assert.Equal("train-en-2", ex[0].Id);

        string test = Lines(dir, "test-de.tsv", T("Ein Satz.", "Noch einer."));
        var t = Assert.Single(Xnli.ReadXtreme(test));
        Assert.Null(t.Label);
        Assert.Equal("Noch einer.", t.TextPair);
    }

    [Fact]
    public void XnliXtreme_LabelOutsideSet_NamesFileLine()
    {
        string path = Lines(dir, "dev-en.tsv", T("a", "b", "neutral"), T("c", "d", "maybe"));
        var e = Assert.Throws<InvalidInputException>(() => Xnli.ReadXtreme(path).ToList());
        Assert.Equal($"{path}:2", e.Where);
        Assert.Contains("\"maybe\"", e.Message);
        Assert.Contains("contradiction, entailment, neutral", e.Message);
    }

    [Fact]
    public void XnliXtreme_WrongColumnCount_NamesLineAndExpectation()
    {
        string path = Lines(dir, "dev-fr.tsv", T("a", "b", "neutral"), T("only one column"));
        var e = Assert.Throws<InvalidInputException>(() => Xnli.ReadXtreme(path).ToList());
        Assert.Equal($"{path}:2", e.Where);
        Assert.Contains("premise, hypothesis[, label]", e.Message);
        Assert.Contains("found 1", e.Message);
    }

    [Fact]
    public void Mnli_FindsColumnsByName_TestHasNoLabel()
    {
        string dev = Lines(dir, "dev_matched.tsv", T("index", "promptID", "pairID", "genre", "sentence1", "sentence2", "label1", "gold_label"),
            T("0", "7", "7n", "slate", "Cats sleep a lot.", "Cats are awake all day.", "contradiction", "contradiction"));
        var d = Assert.Single(Mnli.Read(dev));
        Assert.Equal(new PairClassificationExample("7n", "Cats sleep a lot.", "Cats are awake all day.", "contradiction"), d);

        string test = Lines(dir, "test_matched.tsv", T("index", "promptID", "pairID", "genre", "sentence1", "sentence2"),
            T("0", "8", "8e", "fiction", "Trees grow.", "Plants get bigger."));
        Assert.Null(Assert.Single(Mnli.Read(test)).Label);
    }

    [Fact]
    public void Mnli_RowMissingOptionalAnnotatorColumns_StillReadsGoldFromLastField()
    {
        string dev = Lines(dir, "dev_mismatched.tsv",
            T("index", "pairID", "sentence1", "sentence2", "label1", "label2", "label3", "gold_label"),
            T("0", "a1", "Snow is white.", "Snow is dark.", "contradiction", "contradiction", "neutral", "contradiction"),
            T("1", "a2", "Birds sing.", "Animals make sounds.", "entailment", "entailment"),
            T("2", "a3", "Too short."));
        var read = new List<PairClassificationExample>();
        var e = Assert.Throws<InvalidInputException>(() => { foreach (var x in Mnli.Read(dev)) read.Add(x); });
        Assert.Equal(["contradiction", "entailment"], read.Select(x => x.Label));
        Assert.Equal($"{dev}:4", e.Where);
    }

    [Fact]
    public void Mnli_HeaderWithoutSentence1_IsAnError()
    {
        string path = Lines(dir, "train.tsv", T("index", "premise", "hypothesis"), T("0", "a", "b"));
        var e = Assert.Throws<InvalidInputException>(() => Mnli.Read(path).ToList());
        Assert.Equal($"{path}:1", e.Where);
        Assert.Contains("\"sentence1\"", e.Message);
    }

    [Fact]
    public void Qqp_ReadsRows_AndMalformedRowIsAnErrorWithLine()
    {
        string path = Lines(dir, "train.tsv", T("id", "qid1", "qid2", "question1", "question2", "is_duplicate"),
            T("1", "10", "11", "How do owls see?", "How do owls see at night?", "1"),
            T("2", "12", "13", "What is rain?"));
        var read = new List<PairClassificationExample>();
        var e = Assert.Throws<InvalidInputException>(() => { foreach (var x in Qqp.Read(path)) read.Add(x); });
        Assert.Single(read);
        Assert.Equal("1", read[0].Label);
        Assert.Equal($"{path}:3", e.Where);
        Assert.Contains("found 4", e.Message);
    }

    [Fact]
    public void Snli_DropsDashLabels_AndCountsThem()
    {
        string path = Lines(dir, "snli_1.0_dev.jsonl",
            """{"gold_label": "neutral", "sentence1": "A boy runs.", "sentence2": "A boy is late.", "pairID": "p1"}""",
            """{"gold_label": "-", "sentence1": "A dog barks.", "sentence2": "A dog sings.", "pairID": "p2"}""",
            "",
            """{"gold_label": "entailment", "sentence1": "Two women talk.", "sentence2": "People talk.", "pairID": "p3"}""");
        var report = new ReadReport();
        var ex = Snli.Read(path, report).ToList();
        Assert.Equal(["p1", "p3"], ex.Select(e => e.Id));
        Assert.Equal(2, report.Read);
        Assert.Equal(1, report.Skipped);
        Assert.Contains(":2", report.Notes[0]);
    }

    [Fact]
    public void Snli_BrokenJson_NamesLine()
    {
        string path = Lines(dir, "snli.jsonl", """{"gold_label": "neutral", "sentence1": "a", "sentence2": "b"}""", """{"gold_label": """);
        var e = Assert.Throws<InvalidInputException>(() => Snli.Read(path).ToList());
        Assert.Equal($"{path}:2", e.Where);
        Assert.Contains("JSON", e.Message);
    }

    [Fact]
    public void Anli_MapsENC_ToNliNames_AndRejectsOtherLabels()
    {
        string path = Lines(dir, "train.jsonl",
            """{"uid": "u1", "context": "The river froze in January.", "hypothesis": "It was cold.", "label": "e", "reason": ""}""",
            """{"uid": "u2", "premise": "The bakery sells bread.", "hypothesis": "The bakery sells cars.", "label": "c"}""",
            """{"uid": "u3", "context": "Ann sang.", "hypothesis": "Ann sang well.", "label": "n"}""");
        var ex = Anli.Read(path).ToList();
        Assert.Equal(["entailment", "contradiction", "neutral"], ex.Select(e => e.Label));
        Assert.Equal("The bakery sells bread.", ex[1].Text);

        string bad = Lines(dir, "bad.jsonl", """{"uid": "u", "context": "a", "hypothesis": "b", "label": "x"}""");
        var e = Assert.Throws<InvalidInputException>(() => Anli.Read(bad).ToList());
        Assert.Equal($"{bad}:1", e.Where);
        Assert.Contains("{e, n, c}", e.Message);
    }

    [Fact]
    public void AnliPlus_StreamsAnliRounds_ThenMnli_ThenSnliWithoutDashes()
    {
        foreach (string r in new[] { "R1", "R2", "R3" })
            Lines(dir, $"anli_v1.0/{r}/train.jsonl", $$"""{"uid": "{{r}}", "context": "p", "hypothesis": "h", "label": "n"}""");
        Lines(dir, "MNLI/train.tsv", T("pairID", "sentence1", "sentence2", "gold_label"), T("m1", "p", "h", "entailment"));
        Lines(dir, "snli_1.0/snli_1.0_train.jsonl",
            """{"gold_label": "-", "sentence1": "a", "sentence2": "b", "pairID": "s0"}""",
            """{"gold_label": "contradiction", "sentence1": "a", "sentence2": "b", "pairID": "s1"}""");
        var report = new ReadReport();
        var ex = TaskRegistry.Get("anli_plus").ReadExamples(dir, Split.Train, report: report).ToList();
        Assert.Equal(["R1", "R2", "R3", "m1", "s1"], ex.Select(e => e.Id));
        Assert.Equal(5, report.Read);
        Assert.Equal(1, report.Skipped);
    }

    [Fact]
    public void PawsX_RawWithHeader_AndXtremeForm()
    {
        string raw = Lines(dir, "x-final/de/dev_2k.tsv", T("id", "sentence1", "sentence2", "label"),
            T("5", "Er kam spät an.", "Spät kam er an.", "1"));
        Assert.Equal(new PairClassificationExample("5", "Er kam spät an.", "Spät kam er an.", "1"), Assert.Single(PawsX.ReadRaw(raw)));

        string xt = Lines(dir, "pawsx/test-ja.tsv", T("文一。", "文二。"));
        var t = Assert.Single(PawsX.ReadXtreme(xt));
        Assert.Null(t.Label);

        string bad = Lines(dir, "pawsx/dev-en.tsv", T("a", "b", "2"));
        Assert.Equal($"{bad}:1", Assert.Throws<InvalidInputException>(() => PawsX.ReadXtreme(bad).ToList()).Where);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n  \n")]
    public void EmptyOrBlankFile_IsAnError(string content)
    {
        string path = Text(dir, "empty.tsv", content);
        var e = Assert.Throws<InvalidInputException>(() => Xnli.ReadXtreme(path).ToList());
        Assert.Contains("empty", e.Message);
        Assert.Equal(path, e.Where);
        Assert.Equal(path, Assert.Throws<InvalidInputException>(() => Snli.Read(path).ToList()).Where);
        Assert.Equal(path, Assert.Throws<InvalidInputException>(() => UdPos.ReadXtreme(path).ToList()).Where);
    }

    [Fact]
    public void MissingFile_IsAnError()
    {
        var e = Assert.Throws<InvalidInputException>(() => Qqp.Read(Path.Combine(dir, "nope.tsv")).ToList());
        Assert.Contains("not found", e.Message);
    }
}
