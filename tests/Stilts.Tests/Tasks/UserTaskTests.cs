using Stilts.Tasks;
using static Stilts.Tests.Tasks.Fixture;

namespace Stilts.Tests.Tasks;

public class UserTaskTests
{
    readonly string dir = TestPaths.NewTempDir("tasks-user");

    [Fact]
    public void YamlConfig_JsonlPairClassification_ReadsColumnsAndLanguages()
    {
        Lines(dir, "data/train.jsonl",
            """{"premise": "The oven is hot.", "claim": "Do not touch it.", "verdict": "yes"}""",
            """{"premise": "The cup is empty.", "claim": "Drink from it.", "verdict": "no", "uid": "u2"}""");
        Lines(dir, "data/dev-de.jsonl", """{"premise": "Der Ofen ist heiß.", "claim": "Nicht anfassen.", "verdict": "yes"}""");
        string config = Text(dir, "task.yaml", """
            name: advice
            kind: PairClassification
            files:
              train: data/train.jsonl
              dev: data/dev-{lang}.jsonl
            columns: { text: premise, text_pair: claim, label: verdict, id: uid }
            labels: [yes, no]
            languages: [en, de]
            max_length: 96
            """);
        var def = UserTask.Load(config);
        Assert.Equal(("advice", TaskKind.PairClassification, 96, MetricName.Accuracy), (def.Name, def.Kind, def.DefaultMaxLength, def.Metric));
        var train = def.ReadExamples("/elsewhere", Split.Train).Cast<PairClassificationExample>().ToList();
        Assert.Equal(new PairClassificationExample("train-1", "The oven is hot.", "Do not touch it.", "yes"), train[0]);
        Assert.Equal("u2", train[1].Id);
        Assert.Equal("Der Ofen ist heiß.", ((PairClassificationExample)Assert.Single(def.ReadExamples("/elsewhere", Split.Dev, "de"))).Text);
        Assert.Contains("valid: de en", Assert.Throws<InvalidInputException>(() => def.ReadExamples("/x", Split.Dev, "fr").ToList()).Message);
    }

    [Fact]
    public void JsonConfig_TsvWithHeader_LabelOutsideSetNamesFileLine()
    {
        string data = Lines(dir, "reviews.tsv", T("sentence", "stars"), T("Great soup.", "pos"), T("Cold fries.", "meh"));
        string config = Text(dir, "task.json", """
            {"name": "reviews", "kind": "SentenceClassification", "files": {"train": "reviews.tsv"},
             "columns": {"text": "sentence", "label": "stars"}, "labels": ["pos", "neg"]}
            """);
        var def = UserTask.Load(config);
        var read = new List<TaskExample>();
        var e = Assert.Throws<InvalidInputException>(() => { foreach (var x in def.ReadExamples("/", Split.Train)) read.Add(x); });
        Assert.Equal(new SentenceClassificationExample("reviews-2", "Great soup.", "pos"), Assert.Single(read));
        Assert.Equal($"{data}:3", e.Where);
        Assert.Contains("\"meh\" is not one of {pos, neg}", e.Message);
    }

    [Fact]
    public void TsvWithoutHeader_UsesColumnIndices()
    {
        Lines(dir, "t.tsv", T("7", "neg", "Rainy day."));
        string config = Text(dir, "t.yaml", """
            name: idx
            kind: SentenceClassification
            header: false
            files: { test: t.tsv }
            columns: { id: "0", label: "1", text: "2" }
            labels: [pos, neg]
            """);
        var ex = Assert.Single(UserTask.Load(config).ReadExamples("/", Split.Test, "en"));
        Assert.Equal(new SentenceClassificationExample("7", "Rainy day.", "neg"), ex);
    }

    [Fact]
    public void Tagging_Jsonl_And_Tsv()
    {
        Lines(dir, "tags.jsonl", """{"tokens": ["Ada", "codes"], "tags": ["B-PER", "O"]}""");
        Lines(dir, "tags.tsv", T("Ada", "B-PER"), T("codes", "O"), "", T("Bo", "B-PER"));
        foreach (var (file, count) in new[] { ("tags.jsonl", 1), ("tags.tsv", 2) })
        {
            string config = Text(dir, $"{file}.yaml", $"""
                name: ner
                kind: Tagging
                files: {"{"} train: {file} {"}"}
                labels: [O, B-PER, I-PER]
                """);
            var ex = UserTask.Load(config).ReadExamples("/", Split.Train).Cast<TaggingExample>().ToList();
            Assert.Equal(count, ex.Count);
            Assert.Equal(["Ada", "codes"], ex[0].Words);
            Assert.Equal(["B-PER", "O"], ex[0].Tags!);
        }
    }

    [Fact]
    public void SpanQa_Jsonl()
    {
        Lines(dir, "qa.jsonl", """{"q": "Who?", "c": "Ada wrote it.", "a": [{"text": "Ada", "answer_start": 0}]}""");
        string config = Text(dir, "qa.yaml", """
            name: qa
            kind: SpanQa
            files: { train: qa.jsonl }
            columns: { question: q, context: c, answers: a }
            """);
        var ex = (SpanQaExample)Assert.Single(UserTask.Load(config).ReadExamples("/", Split.Train));
        Assert.Equal([new SpanAnswer("Ada", 0)], ex.Answers);
        Assert.Equal("Who?", ex.Question);
    }

    [Fact]
    public void BadConfigs_NameTheKey()
    {
        string noLabels = Text(dir, "a.yaml", "name: a\nkind: SentenceClassification\nfiles: { train: x.jsonl }\n");
        Assert.Equal($"{noLabels}: labels", Assert.Throws<InvalidInputException>(() => UserTask.Load(noLabels)).Where);

        string badKind = Text(dir, "b.yaml", "name: b\nkind: Poetry\nfiles: { train: x.jsonl }\n");
        Assert.Equal($"{badKind}:2", Assert.Throws<InvalidInputException>(() => UserTask.Load(badKind)).Where);

        string unknownKey = Text(dir, "c.yaml", "name: c\nkind: Tagging\nfiles: { train: x.jsonl }\nlabelz: [O]\n");
        Assert.Equal($"{unknownKey}:4", Assert.Throws<InvalidInputException>(() => UserTask.Load(unknownKey)).Where);

        string badSplit = Text(dir, "d.yaml", "name: d\nkind: Tagging\nfiles: { training: x.jsonl }\n");
        Assert.Equal($"{badSplit}: files.training", Assert.Throws<InvalidInputException>(() => UserTask.Load(badSplit)).Where);

        string badRole = Text(dir, "e.yaml", "name: e\nkind: Tagging\nfiles: { train: x.jsonl }\ncolumns: { words: w }\n");
        Assert.Equal($"{badRole}: columns.words", Assert.Throws<InvalidInputException>(() => UserTask.Load(badRole)).Where);

        string retrieval = Text(dir, "f.yaml", "name: f\nkind: BitextMining\nfiles: { test: x.tsv }\n");
        Assert.Contains("cannot be defined by a config", Assert.Throws<InvalidInputException>(() => UserTask.Load(retrieval)).Message);
    }
}
