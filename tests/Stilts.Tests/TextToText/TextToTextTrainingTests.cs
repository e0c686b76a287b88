using Stilts.Models;
using Stilts.Tasks;
using Stilts.Tasks.TextToText;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Tests.TextToText;

/// <summary>
/// End to end on a toy world: a tiny T5 is trained teacher-forced on text-to-text rows and then predicts through
/// generation (free and constrained) and choice scoring, decoded to the task's own prediction types.
/// </summary>
public sealed class TextToTextTrainingTests
{
    static readonly string[] Fillers = ["red", "blue", "green", "small", "big", "old", "new", "round"];

    static List<TaskExample> ToyExamples()
    {
        var rng = new Random(3);
        var examples = new List<TaskExample>();
        for (int i = 0; i < 16; i++)
        {
            bool good = i % 2 == 0;
            var words = new List<string> { Fillers[rng.Next(Fillers.Length)], Fillers[rng.Next(Fillers.Length)] };
            words.Insert(rng.Next(3), good ? "good" : "bad");
            examples.Add(new SentenceClassificationExample($"t{i}", string.Join(' ', words), good ? "pos" : "neg"));
        }
        return examples;
    }

    static T5ForConditionalGeneration Train(WordT5Tokenizer tok, Verbalizer v, IReadOnlyList<TaskExample> examples, int steps)
    {
        var config = new T5Config
        {
            VocabSize = 64, DModel = 32, DKv = 8, DFf = 64, NumLayers = 1, NumDecoderLayers = 1, NumHeads = 4,
            DropoutRate = 0, FeedForward = T5FeedForward.GatedGelu, TieWordEmbeddings = false,
        };
        var model = T5ForConditionalGeneration.Create(config, new Generator(11));
        var features = examples.Select(e => TextToTextFeaturizer.Featurize(tok, TextToTextFormatter.Format(v, e), 32, 8)).ToList();
        Assert.True(features.SelectMany(f => f.InputIds.Concat(f.LabelIds)).Max() < config.VocabSize);
        using var batch = TextToTextFeaturizer.Collate(features, tok.Special.PadId);
        var optimizer = optim.Adam(model.parameters(), lr: 3e-3);
        model.train();
        double first = double.NaN, last = double.NaN;
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            using var output = model.Forward(batch.InputIds, batch.AttentionMask, labels: batch.Labels);
            output.Loss!.backward();
            optimizer.step();
            last = output.Loss.item<float>();
            if (step == 0) first = last;
        }
        Assert.True(last < first / 10, $"loss {first} -> {last}");
        model.eval();
        return model;
    }

    [Fact]
    public void TinyT5LearnsAToyClassificationAndPredictsLabels()
    {
        var tok = new WordT5Tokenizer();
        var v = new Verbalizer { Prefix = "toy", Target = TargetForm.LabelWord, Labels = ["neg", "pos"], LabelWords = ["negative", "positive"] };
        var examples = ToyExamples();
        using var model = Train(tok, v, examples, steps: 150);

        var gold = examples.Cast<SentenceClassificationExample>().Select(e => e.Label).ToList();
        foreach (bool constrained in new[] { false, true })
        {
            var predicted = TextToTextPredictor.Predict(model, tok, v, examples,
                new TextToTextPredictOptions { ConstrainToLabels = constrained, BatchSize = 5, MaxNewTokens = 6 });
            Assert.Equal(gold, predicted.Select(p => p.Label));
        }
    }

    [Fact]
    public void ScoredChoicesMatchGoldAndConstrainedGenerationAlwaysPicksAChoice()
    {
        // The same toy world as multiple choice: the choices are the two label words, the right one is the gold.
        var tok = new WordT5Tokenizer();
        var v = new Verbalizer { Prefix = "toy", Target = TargetForm.ChoiceText };
        var examples = ToyExamples().Cast<SentenceClassificationExample>()
            .Select(e => (TaskExample)new MultipleChoiceExample(e.Id, e.Text, null, ["negative", "positive"], e.Label == "pos" ? 1 : 0)).ToList();
        using var model = Train(tok, v, examples, steps: 150);

        var gold = examples.Cast<MultipleChoiceExample>().Select(e => e.Label).ToList();
        var scored = TextToTextPredictor.Predict(model, tok, v, examples, new TextToTextPredictOptions { BatchSize = 4 });
        Assert.Equal(gold, scored.Select(p => p.Choice));
        var generated = TextToTextPredictor.Predict(model, tok, v with { ChoiceMode = ChoiceMode.Generate }, examples,
            new TextToTextPredictOptions { BatchSize = 7, ConstrainToLabels = true });
        Assert.All(generated, p => Assert.Contains(p.Generated, new[] { "negative", "positive" }));
    }
}
