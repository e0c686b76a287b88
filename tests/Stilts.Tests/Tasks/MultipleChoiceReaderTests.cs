using Stilts.Tasks;
using static Stilts.Tests.Tasks.Fixture;

namespace Stilts.Tests.Tasks;

public class MultipleChoiceReaderTests
{
    readonly string dir = TestPaths.NewTempDir("tasks-mc");

    [Fact]
    public void HellaSwag_UsesCtx_OrJoinsCtxAandB_LabelOptionalInTest()
    {
        string path = Lines(dir, "hellaswag_val.jsonl",
            """{"ind": 4, "ctx": "A woman opens a jar. She", "ctx_a": "A woman opens a jar.", "ctx_b": "She", "endings": ["eats.", "flies.", "sings.", "melts."], "label": 0}""",
            """{"ind": 5, "ctx_a": "A man ties his shoes.", "ctx_b": "He", "endings": ["runs.", "sleeps.", "swims.", "reads."], "label": "2"}""",
            """{"ind": 6, "ctx": "Kids play.", "endings": ["a", "b", "c", "d"]}""");
        var ex = HellaSwag.Read(path).ToList();
        Assert.Equal("A woman opens a jar. She", ex[0].Context);
        Assert.Equal("A man ties his shoes. He", ex[1].Context);
        Assert.Equal([0, 2, null], ex.Select(e => e.Label));
        Assert.Equal("4", ex[0].Id);
        Assert.Equal(["runs.", "sleeps.", "swims.", "reads."], ex[1].Choices);
    }

    [Fact]
    public void HellaSwag_WrongEndingCount_IsAnError()
    {
        string path = Lines(dir, "h.jsonl", """{"ctx": "x", "endings": ["a", "b"], "label": 0}""");
        var e = Assert.Throws<InvalidInputException>(() => HellaSwag.Read(path).ToList());
        Assert.Equal($"{path}:1", e.Where);
        Assert.Contains("4 endings", e.Message);
    }

    [Fact]
    public void CommonsenseQa_OrdersChoicesByLetter_AnswerKeyToIndex()
    {
        string path = Lines(dir, "dev_rand_split.jsonl",
            """{"answerKey": "C", "id": "abc", "question": {"question_concept": "tea", "choices": [{"label": "B", "text": "cup"}, {"label": "A", "text": "plate"}, {"label": "C", "text": "kettle"}, {"label": "D", "text": "shoe"}, {"label": "E", "text": "lamp"}], "stem": "Where do you boil water for tea?"}}""",
            """{"id": "def", "question": {"choices": [{"label": "A", "text": "1"}, {"label": "B", "text": "2"}, {"label": "C", "text": "3"}, {"label": "D", "text": "4"}, {"label": "E", "text": "5"}], "stem": "Pick"}}""");
        var ex = CommonsenseQa.Read(path).ToList();
        Assert.Equal(["plate", "cup", "kettle", "shoe", "lamp"], ex[0].Choices);
        Assert.Equal(2, ex[0].Label);
        Assert.Equal("Where do you boil water for tea?", ex[0].Question);
        Assert.Null(ex[1].Label);

        string bad = Lines(dir, "bad.jsonl", """{"answerKey": "F", "id": "x", "question": {"choices": [{"label": "A", "text": "1"}, {"label": "B", "text": "2"}, {"label": "C", "text": "3"}, {"label": "D", "text": "4"}, {"label": "E", "text": "5"}], "stem": "s"}}""");
        Assert.Contains("answerKey \"F\"", Assert.Throws<InvalidInputException>(() => CommonsenseQa.Read(bad).ToList()).Message);
    }

    [Fact]
    public void CosmosQa_Csv_HandlesQuotedCommasQuotesAndNewlines()
    {
        string path = Text(dir, "valid.csv",
            "id,context,question,answer0,answer1,answer2,answer3,label\n" +
            "c1,\"We walked home, tired.\nThen it rained.\",Why tired?,\"Long day, \"\"really\"\"\",None,Rain,Sun,0\n" +
            "c2,Short.,What?,a,b,c,d,3\n");
        var ex = CosmosQa.ReadCsv(path).ToList();
        Assert.Equal(2, ex.Count);
        Assert.Equal("We walked home, tired.\nThen it rained.", ex[0].Context);
        Assert.Equal("Long day, \"really\"", ex[0].Choices[0]);
        Assert.Equal(0, ex[0].Label);
        Assert.Equal(3, ex[1].Label);
    }

    [Fact]
    public void CosmosQa_Csv_ShortRowNamesItsStartLine()
    {
        string path = Text(dir, "train.csv",
            "id,context,question,answer0,answer1,answer2,answer3,label\n" +
            "c1,\"two\nlines\",q,a,b,c,d,1\n" +
            "c2,ctx,q,a,b\n");
        var e = Assert.Throws<InvalidInputException>(() => CosmosQa.ReadCsv(path).ToList());
        Assert.Equal($"{path}:4", e.Where);
    }

    [Fact]
    public void CosmosQa_Jsonl_TestWithoutLabel()
    {
        string path = Lines(dir, "test.jsonl",
            """{"id": "t1", "context": "c", "question": "q", "answer0": "a", "answer1": "b", "answer2": "c", "answer3": "d"}""");
        var ex = Assert.Single(CosmosQa.ReadJsonl(path));
        Assert.Null(ex.Label);
        Assert.Equal(["a", "b", "c", "d"], ex.Choices);
    }

    [Fact]
    public void SocialIqa_JoinsOneBasedLabelsFile()
    {
        string data = Lines(dir, "dev.jsonl",
            """{"context": "Jo lent Sam a pen.", "question": "How would Sam feel?", "answerA": "grateful", "answerB": "angry", "answerC": "bored"}""",
            """{"context": "Kim missed the bus.", "question": "What will Kim do?", "answerA": "walk", "answerB": "fly", "answerC": "sing"}""");
        string labels = Lines(dir, "dev-labels.lst", "1", "3");
        var ex = SocialIqa.Read(data, labels).ToList();
        Assert.Equal([0, 2], ex.Select(e => e.Label));
        Assert.Equal(["grateful", "angry", "bored"], ex[0].Choices);

        // The registry reads the labels file beside the data.
        Assert.Equal([0, 2], TaskRegistry.Get("socialiqa").ReadExamples(dir, Split.Dev)
            .Cast<MultipleChoiceExample>().Select(e => e.Label));

        string few = Lines(dir, "few-labels.lst", "2");
        Assert.Contains("fewer labels", Assert.Throws<InvalidInputException>(() => SocialIqa.Read(data, few).ToList()).Message);
        string badLabel = Lines(dir, "bad-labels.lst", "1", "4");
        Assert.Equal($"{badLabel}:2", Assert.Throws<InvalidInputException>(() => SocialIqa.Read(data, badLabel).ToList()).Where);
    }

    [Fact]
    public void Copa_AndXCopa_SameFields()
    {
        string path = Lines(dir, "val-it.jsonl",
            """{"premise": "La strada era bagnata.", "choice1": "Aveva piovuto.", "choice2": "C'era il sole.", "question": "cause", "label": 0, "idx": 1}""");
        var ex = Assert.Single(Copa.Read(path));
        Assert.Equal(new MultipleChoiceExample("1", "La strada era bagnata.", "cause", ex.Choices, 0), ex);
        Assert.Equal(["Aveva piovuto.", "C'era il sole."], ex.Choices);

        var viaRegistry = TaskRegistry.Get("xcopa").ReadExamples(dir, Split.Dev, "it").ToList();
        Assert.Single(viaRegistry);

        string bad = Lines(dir, "bad.jsonl", """{"premise": "p", "choice1": "a", "choice2": "b", "question": "why", "label": 0}""");
        Assert.Contains("{cause, effect}", Assert.Throws<InvalidInputException>(() => Copa.Read(bad).ToList()).Message);
    }
}
