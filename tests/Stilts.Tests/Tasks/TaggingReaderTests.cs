using Stilts.Tasks;
using static Stilts.Tests.Tasks.Fixture;

namespace Stilts.Tests.Tasks;

public class TaggingReaderTests
{
    readonly string dir = TestPaths.NewTempDir("tasks-tag");

    static string W(string id, string form, string upos) => T(id, form, "_", upos, "_", "_", "0", "root", "_", "_");

    [Fact]
    public void Conllu_SkipsCommentsRangesAndEmptyNodes_KeepsFormAndUpos()
    {
        string path = Lines(dir, "en_test-ud-dev.conllu",
            "# sent_id = s1",
            "# text = We don't stop.",
            W("1", "We", "PRON"),
            T("2-3", "don't", "_", "_", "_", "_", "_", "_", "_", "_"),
            W("2", "do", "AUX"),
            W("3", "n't", "PART"),
            W("3.1", "stop", "VERB"),
            W("4", "stop", "VERB"),
            W("5", ".", "PUNCT"),
            "",
            "# text = Go",
            W("1", "Go", "VERB"),
            "");
        var ex = UdPos.ReadConllu(path).ToList();
        Assert.Equal(2, ex.Count);
        Assert.Equal("s1", ex[0].Id);
        Assert.Equal(["We", "do", "n't", "stop", "."], ex[0].Words);
        Assert.Equal(["PRON", "AUX", "PART", "VERB", "PUNCT"], ex[0].Tags!);
        Assert.Equal(["Go"], ex[1].Words);
    }

    [Fact]
    public void Conllu_UnknownUpos_And_ShortLine_AreErrorsWithLine()
    {
        string bad = Lines(dir, "bad.conllu", W("1", "Hi", "GREETING"));
        var e = Assert.Throws<InvalidInputException>(() => UdPos.ReadConllu(bad).ToList());
        Assert.Equal($"{bad}:1", e.Where);
        Assert.Contains("GREETING", e.Message);

        string shortLine = Lines(dir, "short.conllu", W("1", "Hi", "INTJ"), T("2", "there"));
        e = Assert.Throws<InvalidInputException>(() => UdPos.ReadConllu(shortLine).ToList());
        Assert.Equal($"{shortLine}:2", e.Where);
        Assert.Contains("CoNLL-U", e.Message);
    }

    [Fact]
    public void Release_ConcatenatesTreebanksOfOneLanguage_InPathOrder()
    {
        Lines(dir, "UD_German-HDT/de_hdt-ud-dev.conllu", W("1", "Zwei", "NUM"));
        Lines(dir, "UD_German-GSD/de_gsd-ud-dev.conllu", W("1", "Eins", "NUM"));
        Lines(dir, "UD_German-GSD/de_gsd-ud-train.conllu", W("1", "Nein", "INTJ"));
        Lines(dir, "UD_Danish-DDT/da_ddt-ud-dev.conllu", W("1", "En", "NUM"));
        var ex = UdPos.ReadRelease(dir, "de", Split.Dev).ToList();
        Assert.Equal(["Eins", "Zwei"], ex.Select(e => e.Words[0]));
        Assert.Contains("fr_*-ud-dev.conllu", Assert.Throws<InvalidInputException>(() => UdPos.ReadRelease(dir, "fr", Split.Dev).ToList()).Message);
    }

    [Fact]
    public void XtremeTsv_SplitsOnBlankLines_TestHasTokensOnly()
    {
        string dev = Lines(dir, "dev-en.tsv", T("Birds", "NOUN"), T("fly", "VERB"), "", "", T("Yes", "INTJ"));
        var ex = UdPos.ReadXtreme(dev).ToList();
        Assert.Equal(2, ex.Count);
        Assert.Equal(["Birds", "fly"], ex[0].Words);
        Assert.Equal(["NOUN", "VERB"], ex[0].Tags!);

        string test = Lines(dir, "test-de.tsv", "Vögel", "fliegen", "", "Ja");
        var t = UdPos.ReadXtreme(test).ToList();
        Assert.Equal(2, t.Count);
        Assert.Null(t[0].Tags);
        Assert.Equal(["Vögel", "fliegen"], t[0].Words);
    }

    [Fact]
    public void XtremeTsv_MixingTaggedAndUntaggedLines_IsAnError()
    {
        string path = Lines(dir, "dev-fr.tsv", T("Oui", "INTJ"), "non");
        var e = Assert.Throws<InvalidInputException>(() => UdPos.ReadXtreme(path).ToList());
        Assert.Equal($"{path}:2", e.Where);
    }

    [Fact]
    public void PanXRaw_StripsOnlyTheFirstLanguagePrefix()
    {
        string path = Lines(dir, "train", T("en:Paris", "B-LOC"), T("en:is", "O"), T("en:a:b", "O"), "", T("en:Ada", "B-PER"));
        var ex = PanX.ReadRaw(path).ToList();
        Assert.Equal(["Paris", "is", "a:b"], ex[0].Words);
        Assert.Equal(["B-LOC", "O", "O"], ex[0].Tags!);
        Assert.Equal(["Ada"], ex[1].Words);

        string noPrefix = Lines(dir, "dev", T("Paris", "B-LOC"));
        Assert.Contains("lang:token", Assert.Throws<InvalidInputException>(() => PanX.ReadRaw(noPrefix).ToList()).Message);
    }

    [Fact]
    public void PanX_TagOutsideIob2Set_IsAnError()
    {
        string path = Lines(dir, "dev-en.tsv", T("Ada", "B-PERSON"));
        var e = Assert.Throws<InvalidInputException>(() => PanX.ReadXtreme(path).ToList());
        Assert.Equal($"{path}:1", e.Where);
        Assert.Contains("B-PER, I-PER", e.Message);
    }

    [Fact]
    public void CcgPiped_SplitsOnLastBar()
    {
        string path = Lines(dir, "ccg.train", @"Pierre|N/N a|b|N ran|S[dcl]\NP .|.", "", "Yes|S");
        var ex = Ccg.ReadPiped(path).ToList();
        Assert.Equal(2, ex.Count);
        Assert.Equal(["Pierre", "a|b", "ran", "."], ex[0].Words);
        Assert.Equal(["N/N", "N", @"S[dcl]\NP", "."], ex[0].Tags!);
        Assert.Equal([".", "N", "N/N", "S", @"S[dcl]\NP"], Ccg.CollectLabels(ex));
    }

    [Fact]
    public void CcgPiped_PairWithoutTag_NamesLineAndPair()
    {
        string path = Lines(dir, "ccg.dev", "good|N", "bad| ok|N");
        var e = Assert.Throws<InvalidInputException>(() => Ccg.ReadPiped(path).ToList());
        Assert.Equal($"{path}:2", e.Where);
        Assert.Contains("pair 1", e.Message);
    }

    [Fact]
    public void CcgTsv_AcceptsAnyTag()
    {
        string path = Lines(dir, "ccg.train.tsv", T("Dogs", "N"), T("bark", @"S\NP"));
        var ex = Assert.Single(Ccg.ReadTsv(path));
        Assert.Equal(["N", @"S\NP"], ex.Tags!);
    }
}
