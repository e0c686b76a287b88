using Stilts.Tasks;
using static Stilts.Tests.Tasks.Fixture;

namespace Stilts.Tests.Tasks;

public class QaReaderTests
{
    readonly string dir = TestPaths.NewTempDir("tasks-qa");

    // Context: "The lighthouse was built in 1871 by local fishermen." ("1871" starts at 28, "local fishermen" at 36)
    const string Context = "The lighthouse was built in 1871 by local fishermen.";

    static string SquadFile(string qas, bool version = true) =>
        "{" + (version ? "\"version\": \"1.1\", " : "") +
        $$"""
        "data": [{"title": "Lighthouse", "paragraphs": [{"context": "{{Context}}", "qas": [{{qas}}]}]}]}
        """;

    [Fact]
    public void Squad_ReadsAnswers_AndCountsStartMismatchesWithoutFailing()
    {
        string path = Text(dir, "train-v1.1.json", SquadFile("""
            {"id": "q1", "question": "When was it built?", "answers": [{"text": "1871", "answer_start": 28}]},
            {"id": "q2", "question": "Who built it?", "answers": [{"text": "local fishermen", "answer_start": 30}]}
            """));
        var report = new ReadReport();
        var ex = SquadJson.Read(path, report).ToList();
        Assert.Equal(2, ex.Count);
        Assert.Equal([new SpanAnswer("1871", 28)], ex[0].Answers);
        Assert.Equal("Lighthouse", ex[0].Title);
        Assert.False(ex[0].IsImpossible);
        Assert.Equal(Context, ex[1].Context);
        Assert.Equal(1, report.AnswerMismatches);
        Assert.Contains("q2", report.Notes[0]);
        Assert.Equal(2, report.Read);
    }

    [Fact]
    public void SquadV2_Unanswerable_HasNoAnswers()
    {
        string path = Text(dir, "dev-v2.0.json", SquadFile("""
            {"id": "q3", "question": "Who painted it?", "answers": [], "is_impossible": true, "plausible_answers": [{"text": "local fishermen", "answer_start": 36}]}
            """));
        var ex = Assert.Single(SquadJson.Read(path));
        Assert.True(ex.IsImpossible);
        Assert.Empty(ex.Answers);
    }

    [Fact]
    public void Squad_BlankedTestAnswersAreDropped()
    {
        string path = Text(dir, "blank.json", SquadFile("""{"id": "q4", "question": "Why?", "answers": [{"text": "", "answer_start": 0}]}"""));
        var report = new ReadReport();
        Assert.Empty(Assert.Single(SquadJson.Read(path, report)).Answers);
        Assert.Equal(0, report.AnswerMismatches);
    }

    [Fact]
    public void Squad_MissingQuestion_NamesThePath()
    {
        string path = Text(dir, "bad.json", SquadFile("""{"id": "q5", "answers": []}"""));
        var e = Assert.Throws<InvalidInputException>(() => SquadJson.Read(path).ToList());
        Assert.Contains("data[0].paragraphs[0].qas[0]", e.Where);
        Assert.Contains("\"question\"", e.Message);
    }

    [Fact]
    public void Squad_InvalidJson_IsAnError()
    {
        string path = Text(dir, "broken.json", "{\"data\": [");
        Assert.Contains("invalid JSON", Assert.Throws<InvalidInputException>(() => SquadJson.Read(path).ToList()).Message);
    }

    [Fact]
    public void XQuad_TakesLanguageFromFileName()
    {
        string path = Text(dir, "xquad.de.json", SquadFile("""{"id": "q1", "question": "Wann?", "answers": [{"text": "1871", "answer_start": 28}]}"""));
        Assert.Equal("de", Assert.Single(XQuad.Read(path)).Language);

        string bad = Text(dir, "xquad.xx.json", SquadFile(""));
        Assert.Contains("unknown language code \"xx\"", Assert.Throws<InvalidInputException>(() => XQuad.Read(bad).ToList()).Message);
    }

    [Fact]
    public void Mlqa_ParsesBothLanguagesFromFileName()
    {
        Assert.Equal(("es", "de"), Mlqa.ParseFileName("/d/MLQA_V1/dev/dev-context-es-question-de.json"));
        string path = Text(dir, "test-context-vi-question-vi.json", SquadFile("""{"id": "m1", "question": "Khi nào?", "answers": [{"text": "1871", "answer_start": 28}]}"""));
        Assert.Equal("vi", Assert.Single(Mlqa.Read(path)).Language);
        Assert.Throws<InvalidInputException>(() => Mlqa.ParseFileName("dev-es-de.json"));
        Assert.Contains("valid:", Assert.Throws<InvalidInputException>(() => Mlqa.ParseFileName("dev-context-fr-question-fr.json")).Message);
    }

    [Fact]
    public void TydiQa_LanguageFromIdPrefix_FiltersTrainFile_WithOrWithoutVersion()
    {
        string qas = """
            {"id": "english-111-0", "question": "When?", "answers": [{"text": "1871", "answer_start": 28}]},
            {"id": "finnish-222-1", "question": "Milloin?", "answers": [{"text": "1871", "answer_start": 28}]}
            """;
        foreach (bool version in new[] { true, false })
        {
            string path = Text(dir, $"tydiqa-{version}.json", SquadFile(qas, version));
            Assert.Equal(["en", "fi"], TydiQa.Read(path).Select(e => e.Language!));
            Assert.Equal(["finnish-222-1"], TydiQa.Read(path, "fi").Select(e => e.Id));
        }
        string bad = Text(dir, "bad-tydi.json", SquadFile("""{"id": "klingon-1", "question": "?", "answers": []}"""));
        var e = Assert.Throws<InvalidInputException>(() => TydiQa.Read(bad).ToList());
        Assert.Contains("english", e.Message);
        Assert.Contains("telugu", e.Message);
    }
}
