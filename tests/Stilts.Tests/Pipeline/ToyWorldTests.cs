using Stilts.Pipeline;

namespace Stilts.Tests.Pipeline;

public class ToyWorldTests
{
    static readonly ToyWorldOptions Small = new() { Seed = 3, NliTrain = 300, PosTrain = 100, DevSize = 50, TestSize = 60, CorpusSize = 200 };

    static Dictionary<string, string> Files(string root) =>
        Directory.GetFiles(root, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(root, f), File.ReadAllText);

    [Fact]
    public void Same_seed_same_world_other_seed_other_world()
    {
        string a = TestPaths.NewTempDir(), b = TestPaths.NewTempDir(), c = TestPaths.NewTempDir();
        ToyWorld.Generate(Small).Write(a);
        ToyWorld.Generate(Small).Write(b);
        ToyWorld.Generate(Small with { Seed = 4 }).Write(c);
        var fa = Files(a);
        Assert.Equal(fa, Files(b));
        Assert.NotEqual(fa["toynli/test-la.tsv"], Files(c)["toynli/test-la.tsv"]);
        Assert.Contains("toynli/train-en.tsv", fa.Keys);
        foreach (var lang in new[] { "en", "la", "cy", "gr", "sy" })
            foreach (var f in new[] { $"toynli/dev-{lang}.tsv", $"toynli/test-{lang}.tsv", $"toypos/test-{lang}.tsv", $"toysent/test-{lang}.tsv", $"mlm/{lang}.txt" })
                Assert.Contains(f, fa.Keys);
    }

    [Fact]
    public void Languages_differ_in_words_order_and_script_but_share_names()
    {
        var world = ToyWorld.Generate(Small);
        var en = world.Languages[0];
        var cy = world.Languages.Single(l => l.Code == "cy");
        var sy = world.Languages.Single(l => l.Code == "sy");
        Assert.Equal("dog", en.Word("dog"));
        Assert.All(cy.Word("DET"), ch => Assert.InRange(ch, '\u0400', '\u04FF'));
        Assert.All(sy.Word("DET"), ch => Assert.InRange(ch, '\u1400', '\u167F'));
        var e = new ToyWorld.Event(new("ana", null, []), "sees", new(null, "dog", ["big"]), Negated: true);
        Assert.Equal("ana not sees the big dog", ToyWorld.Sentence(en, e));
        // cy is VSO with negation after the verb and adjectives before the noun.
        Assert.Equal($"{cy.Word("sees")} {cy.Word("NEG")} ana {cy.Word("DET")} {cy.Word("big")} {cy.Word("dog")}", ToyWorld.Sentence(cy, e));
        Assert.NotEqual(ToyWorld.Sentence(en, e), ToyWorld.Sentence(cy, e));
        Assert.Equal(["VERB", "PART", "PROPN", "DET", "ADJ", "NOUN"], ToyWorld.Render(cy, e).Select(w => w.Tag));
        // Word forms are shared between languages only as English loanwords (names aside) and the negation particle.
        var en2 = world.Languages[0].Lexicon;
        foreach (var lang in world.Languages.Skip(1))
        {
            int loans = lang.Lexicon.Count(p => p.Value == en2[p.Key]);
            Assert.InRange(loans, 18, 40); // the negation particle plus about 60% of 46 content words
            foreach (var other in world.Languages.Skip(1).Where(o => o != lang))
                Assert.All(lang.Lexicon, p => Assert.True(p.Value == en2[p.Key] || !other.Lexicon.Values.Contains(p.Value)));
            Assert.Equal(en2["NEG"], lang.Word("NEG"));
            Assert.NotEqual(en2["DET"], lang.Word("DET"));
        }
    }

    [Fact]
    public void Nli_labels_follow_the_latent_semantics_and_are_balanced()
    {
        string root = TestPaths.NewTempDir();
        ToyWorld.Generate(Small).Write(root);
        var rows = File.ReadAllLines(Path.Combine(root, "toynli", "train-en.tsv")).Select(l => l.Split('\t')).ToList();
        Assert.Equal(300, rows.Count);
        foreach (var label in ToyWorld.NliLabels) Assert.InRange(rows.Count(r => r[2] == label), 70, 130);
        foreach (var r in rows)
        {
            var premise = r[0].Split(' ').ToHashSet();
            var extra = r[1].Split(' ').Where(w => !premise.Contains(w)).ToList();
            switch (r[2])
            {
                case "entailment": Assert.Empty(extra); break;
                case "contradiction": Assert.Equal(["not"], extra); break;
                default: Assert.NotEmpty(extra); Assert.DoesNotContain("not", extra); break;
            }
        }
    }

    [Fact]
    public void Sentiment_is_the_verb_valence_flipped_by_negation_in_every_language()
    {
        var world = ToyWorld.Generate(Small);
        var likes = new ToyWorld.Event(new("ana", null, []), "likes", new(null, "dog", []), Negated: false);
        var fears = likes with { Verb = "fears" };
        Assert.Equal("positive", ToyWorld.Sentiment(likes));
        Assert.Equal("negative", ToyWorld.Sentiment(likes with { Negated = true }));
        Assert.Equal("negative", ToyWorld.Sentiment(fears));
        Assert.Equal("positive", ToyWorld.Sentiment(fears with { Negated = true }));
        string root = TestPaths.NewTempDir();
        world.Write(root);
        // Same latent examples in every language: the labels of the test files agree line by line.
        var en = File.ReadAllLines(Path.Combine(root, "toysent", "test-en.tsv")).Select(l => l.Split('\t')[1]).ToList();
        var sy = File.ReadAllLines(Path.Combine(root, "toysent", "test-sy.tsv")).Select(l => l.Split('\t')[1]).ToList();
        Assert.Equal(en, sy);
        Assert.InRange(en.Count(l => l == "positive"), 20, 40);
    }

    [Fact]
    public void Vocab_covers_every_word_of_every_file()
    {
        string root = TestPaths.NewTempDir();
        ToyWorld.Generate(Small).Write(root);
        var vocab = File.ReadAllLines(Path.Combine(root, "vocab.txt")).ToHashSet();
        Assert.Equal("[PAD]", File.ReadLines(Path.Combine(root, "vocab.txt")).First());
        var words = Directory.GetFiles(root, "*.t*", SearchOption.AllDirectories).Where(f => !f.EndsWith("vocab.txt"))
            .SelectMany(File.ReadAllLines).SelectMany(l => l.Split('\t', ' '))
            .Where(w => w.Length > 0 && !ToyWorld.NliLabels.Contains(w) && !ToyWorld.PosTags.Contains(w) && !ToyWorld.SentimentLabels.Contains(w));
        Assert.All(words, w => Assert.Contains(w, vocab));
        // Tagging files: one "word \t tag" per line, a blank line after each sentence.
        var pos = File.ReadAllText(Path.Combine(root, "toypos", "test-gr.tsv")).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(60, pos.Length);
    }
}

public class ToyWorldTokenizerTests
{
    [Fact]
    public void The_bert_wordpiece_tokenizer_reads_every_toy_word_as_one_known_token()
    {
        var toy = new ToyRun();
        var tokenizer = Stilts.Tokenization.AutoTokenizer.FromFolder(toy.Model);
        int unk = tokenizer.Special.UnkId;
        foreach (var lang in new[] { "en", "la", "cy", "gr", "sy" })
            foreach (var line in File.ReadLines(Path.Combine(toy.World, "mlm", $"{lang}.txt")).Take(50))
            {
                var enc = tokenizer.Tokenize(line);
                Assert.Equal(line.Split(' ').Length, enc.Length);
                Assert.DoesNotContain(unk, enc.Ids);
            }
    }
}
