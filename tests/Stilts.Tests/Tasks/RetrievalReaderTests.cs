using Stilts.Tasks;
using static Stilts.Tests.Tasks.Fixture;

namespace Stilts.Tests.Tasks;

public class RetrievalReaderTests
{
    readonly string dir = TestPaths.NewTempDir("tasks-ret");

    [Fact]
    public void Bucc_ReadsIdSentenceFilesAndGold()
    {
        Lines(dir, "de-en.dev.de", T("de-000001", "Der Zug ist pünktlich."), T("de-000002", "Wir essen Brot."));
        Lines(dir, "de-en.dev.en", T("en-000007", "We eat bread."), T("en-000008", "The train is on time."), T("en-000009", "Unrelated."));
        Lines(dir, "de-en.dev.gold", T("de-000001", "en-000008"), T("de-000002", "en-000007"));
        var data = Bucc.ReadSplit(dir, "de", Split.Dev);
        Assert.Equal("de", data.Language);
        Assert.Equal(2, data.Source.Count);
        Assert.Equal(new IdSentence("en-000009", "Unrelated."), data.Target[2]);
        Assert.Equal([("de-000001", "en-000008"), ("de-000002", "en-000007")], data.Gold!);

        // Test split: gold deleted by xtreme.
        Lines(dir, "de-en.test.de", T("de-1", "Hallo."));
        Lines(dir, "de-en.test.en", T("en-1", "Hello."));
        Assert.Null(((BitextMiningData)TaskRegistry.Get("bucc2018").ReadRetrieval(dir, Split.Test, "de")).Gold);
    }

    [Fact]
    public void Bucc_GoldNamingUnknownId_AndBadLanguage_AreErrors()
    {
        Lines(dir, "fr-en.dev.fr", T("fr-1", "Bonjour."));
        Lines(dir, "fr-en.dev.en", T("en-1", "Hello."));
        string gold = Lines(dir, "fr-en.dev.gold", T("fr-1", "en-1"), T("fr-9", "en-1"));
        var e = Assert.Throws<InvalidInputException>(() => Bucc.ReadSplit(dir, "fr", Split.Dev));
        Assert.Equal($"{gold}:2", e.Where);
        Assert.Contains("fr-9", e.Message);

        var lang = Assert.Throws<InvalidInputException>(() => Bucc.ReadSplit(dir, "es", Split.Dev));
        Assert.Contains("valid: de fr ru zh", lang.Message);
    }

    [Fact]
    public void Tatoeba_Laser_MapsIso3_AndAlignsLines()
    {
        Lines(dir, "tatoeba.pes-eng.pes", "سلام", "خداحافظ");
        Lines(dir, "tatoeba.pes-eng.eng", "Hello", "Goodbye");
        var data = Tatoeba.ReadLaser(dir, "pes");
        Assert.Equal("fa", data.Language);
        Assert.Equal(["Hello", "Goodbye"], data.Target);
        Assert.Equal([0, 1], data.Gold!);

        var e = Assert.Throws<InvalidInputException>(() => Tatoeba.ReadLaser(dir, "xyz"));
        Assert.Contains("afr ara aze ben bul cmn deu ell est eus fin fra heb hin hun ind ita jav jpn kat kaz kor lit mal mar nld pes pol por ron rus spa swh tam tel tgl tha tur ukr urd vie", e.Message);
    }

    [Fact]
    public void Tatoeba_Laser_UnequalLineCounts_IsAnError()
    {
        Lines(dir, "tatoeba.deu-eng.deu", "Eins", "Zwei");
        Lines(dir, "tatoeba.deu-eng.eng", "One");
        Assert.Contains("line-aligned", Assert.Throws<InvalidInputException>(() => Tatoeba.ReadLaser(dir, "deu")).Message);
    }

    [Fact]
    public void Tatoeba_IsoTable_CoversExactlyTheXtremeRLanguages()
    {
        Assert.Equal(41, Languages.TatoebaIso3.Count);
        Assert.Equal(Languages.TatoebaR.Order(StringComparer.Ordinal), Languages.TatoebaIso3.Values.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Tatoeba_Xtreme_GoldFromLabelsFile()
    {
        Lines(dir, "tr-en.tr", "Kedi", "Köpek", "Kuş");
        Lines(dir, "tr-en.en", "Bird", "Cat", "Dog");
        string labels = Lines(dir, "labels.tsv", "2", "0", "1");
        var data = Tatoeba.ReadXtreme(dir, "tr", labels);
        Assert.Equal([2, 0, 1], data.Gold!);
        Assert.Null(Tatoeba.ReadXtreme(dir, "tr").Gold);

        string bad = Lines(dir, "bad.tsv", "2", "7", "1");
        Assert.Equal($"{bad}:2", Assert.Throws<InvalidInputException>(() => Tatoeba.ReadXtreme(dir, "tr", bad)).Where);
    }

    static string XquadR(string context, string[] sentences, int[][] breaks, string qid, string question, int start) =>
        $$"""
        {"data": [{"title": "t", "paragraphs": [{"context": "{{context}}",
          "sentences": [{{string.Join(", ", sentences.Select(s => $"\"{s}\""))}}],
          "sentence_breaks": [{{string.Join(", ", breaks.Select(b => $"[{b[0]}, {b[1]}]"))}}],
          "qas": [{"id": "{{qid}}", "question": "{{question}}", "answers": [{"text": "x", "answer_start": {{start}}}]}]}]}]}
        """;

    [Fact]
    public void LaReqa_GoldIsTheAnswerSentence_InEveryLanguage()
    {
        // "Snow fell. The road closed." sentences [0,10) [11,27); the answer "closed" is at 20.
        string en = Text(dir, "en.json", XquadR("Snow fell. The road closed.", ["Snow fell.", "The road closed."], [[0, 10], [11, 27]], "q1", "What closed?", 20));
        string de = Text(dir, "de.json", XquadR("Schnee fiel. Die Straße war zu.", ["Schnee fiel.", "Die Straße war zu."], [[0, 12], [13, 31]], "q1", "Was war zu?", 13));
        var enData = LaReqa.ReadFile(en, "en");
        Assert.Equal(["en-0-1"], Assert.Single(enData.Questions).GoldSentenceIds);
        Assert.Equal(2, enData.Candidates.Count);
        Assert.Equal("Snow fell. The road closed.", enData.Candidates[0].Context);

        var combined = LaReqa.Combine([enData, LaReqa.ReadFile(de, "de")]);
        Assert.Equal(4, combined[0].Candidates.Count);
        Assert.Equal(["en-0-1", "de-0-1"], combined[0].Questions[0].GoldSentenceIds);
        Assert.Equal(["en-0-1", "de-0-1"], combined[1].Questions[0].GoldSentenceIds);
    }

    [Fact]
    public void LaReqa_AnswerOutsideEverySentence_IsSkippedAndCounted()
    {
        string en = Text(dir, "en.json", XquadR("Snow fell. The road closed.", ["Snow fell.", "The road closed."], [[0, 10], [11, 27]], "q1", "?", 10));
        var report = new ReadReport();
        Assert.Empty(LaReqa.ReadFile(en, "en", report).Questions);
        Assert.Equal(1, report.Skipped);
    }

    const string MentionLine = """
        {"context": {"document_title": "Storm", "document_url": "u", "document_id": "d1", "language": "de", "text": "Der Sturm traf Hamburg am Montag.", "sentence_spans": [{"start": 0, "end": 33}]}, "mentions": [{"example_id": "m1", "mention_span": {"start": 15, "end": 22, "text": "Hamburg"}, "entity_id": "Q1055"}]}
        """;

    [Fact]
    public void MewsliX_ReadsMentionsAndCandidates()
    {
        string mentions = Lines(dir, "wikinews_mentions/dev-de.jsonl", MentionLine);
        Lines(dir, "candidate_set_entities.jsonl",
            """{"entity_id": "Q1055", "title": "Hamburg", "description": "Hamburg is a city in Germany.", "sentence_spans": [], "description_language": "en", "description_url": "u"}""",
            """{"entity_id": "Q64", "title": "Berlin", "description": "Berlin is the capital.", "sentence_spans": [], "description_language": "en", "description_url": "u"}""");
        var m = Assert.Single(MewsliX.ReadMentions(mentions, "de"));
        Assert.Equal(new EntityMention("m1", "de", "Der Sturm traf Hamburg am Montag.", 15, 22, "Hamburg", "Q1055"), m);
        Assert.Empty(MewsliX.ReadMentions(mentions, "ja"));

        var data = (EntityLinkingData)TaskRegistry.Get("mewslix").ReadRetrieval(dir, Split.Dev, "de");
        Assert.Equal(["Q1055", "Q64"], data.Candidates.Select(c => c.EntityId));
        Assert.Equal("Berlin is the capital.", data.Candidates[1].Description);
    }

    [Fact]
    public void MewsliX_SpanNotMatchingContext_IsAnError()
    {
        string mentions = Lines(dir, "dev-de.jsonl", MentionLine.Replace("\"start\": 15", "\"start\": 14"));
        var e = Assert.Throws<InvalidInputException>(() => MewsliX.ReadMentions(mentions).ToList());
        Assert.Contains($"{mentions}:1", e.Where);
        Assert.Contains("Hamburg", e.Message);
    }
}
