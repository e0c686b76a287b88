using Stilts.Inference;
using Stilts.Models;
using Stilts.Tasks;
using Stilts.Tasks.TextToText;
using Stilts.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Tests.TextToText;

/// <summary>The random-weight mT5 reference checkpoint and its tokenizer, loaded once.</summary>
public sealed class Mt5Checkpoint : IDisposable
{
    public string Directory { get; } = TestPaths.TestVectors("mt5");
    public T5ForConditionalGeneration Model { get; }
    public TextTokenizer Tokenizer { get; }

    public Mt5Checkpoint()
    {
        Model = T5ForConditionalGeneration.FromPretrained(Directory);
        Tokenizer = AutoTokenizer.FromFolder(Directory);
    }

    public void Dispose() => Model.Dispose();
}

/// <summary>
/// Mechanics of label-constrained greedy decoding and likelihood scoring on the real mT5 checkpoint (weights are
/// random, so what is checked is that the rules hold, against quantities recomputed here from Forward).
/// </summary>
public sealed class ConstrainedDecodingTests(Mt5Checkpoint mt5) : IClassFixture<Mt5Checkpoint>
{
    static readonly string[] Inputs =
    [
        "xnli premise: The cat sleeps on the roof. hypothesis: An animal is resting.",
        "xnli premise: Ich habe keine Zeit. hypothesis: Je suis très occupé.",
        "xnli premise: 今日は雨です。 hypothesis: It is sunny.",
        "xnli premise: a hypothesis: b",
    ];

    [Fact]
    public void TrieGivesTheContinuationsOfAPrefix()
    {
        var trie = SequenceTrie.Create([[5, 6, 1], [5, 7, 1], [8, 1]]);
        Assert.Equal(3, trie.Count);
        Assert.Equal(3, trie.MaxLength);
        Assert.Equal([5, 8], trie.Next([]));
        Assert.Equal([6, 7], trie.Next([5]));
        Assert.Equal([1], trie.Next([5, 7]));
        Assert.Empty(trie.Next([5, 7, 1]));
        Assert.Empty(trie.Next([9]));
        Assert.True(trie.Contains([8, 1]));
        Assert.False(trie.Contains([5, 6]));
    }

    [Fact]
    public void ConstrainedGenerationAlwaysYieldsALabelAndIsGreedyAmongAllowedTokens()
    {
        var v = Verbalizer.For(TaskRegistry.Get("xnli"));
        var tok = mt5.Tokenizer;
        var labelIds = v.LabelWords.Select(w => TextToTextFeaturizer.Target(tok, w, 16)).ToList();
        Assert.All(labelIds, ids => Assert.Equal(tok.Special.EosId, ids[^1]));
        var trie = SequenceTrie.Create(labelIds);

        var outputs = TextGeneration.Generate(mt5.Model, tok, Inputs, maxNewTokens: 20, batchSize: 3, allowed: trie);
        var free = TextGeneration.Generate(mt5.Model, tok, Inputs, maxNewTokens: 20);
        Assert.Equal(Inputs.Length, outputs.Count);
        // Random weights: left alone, the model does not produce label words.
        Assert.Contains(free, o => TextToTextDecoder.Label(v, o.Text) is null);

        for (int i = 0; i < Inputs.Length; i++)
        {
            var ids = outputs[i].Ids[1..];
            Assert.True(trie.Contains(ids), $"row {i}: {string.Join(",", ids)} is not a label sequence");
            Assert.NotNull(TextToTextDecoder.Label(v, outputs[i].Text));

            // Recompute with teacher forcing: each chosen token has the highest logit among those the trie allows.
            using var scope = NewDisposeScope();
            var (input, mask) = TextToTextFeaturizer.EncodeTexts(tok, [Inputs[i]], 64);
            var decoderIds = tensor(outputs[i].Ids[..^1].Select(x => (long)x).ToArray()).unsqueeze(0);
            using var output = mt5.Model.Forward(input, mask, decoderInputIds: decoderIds);
            for (int step = 0; step < ids.Length; step++)
            {
                var logits = output.Logits[0, step];
                var allowed = trie.Next(ids.Take(step).Select(x => (long)x).ToArray());
                int best = allowed.MaxBy(a => logits[a].item<float>());
                Assert.Equal(best, ids[step]);
            }
        }
    }

    [Fact]
    public void ScoringSumsTokenLogProbabilitiesAndPicksTheLikeliestChoice()
    {
        var tok = mt5.Tokenizer;
        string[] choices = ["It broke into pieces.", "It sang a song.", "Nothing."];
        var targets = choices.Select(c => TextToTextFeaturizer.Target(tok, c, 32)).ToList();
        string prompt = "xcopa context: The glass fell off the table. question: effect";

        // By hand: one unbatched teacher-forced pass per choice, log-softmax in double precision here.
        var expected = new double[choices.Length];
        for (int c = 0; c < choices.Length; c++)
        {
            using var scope = NewDisposeScope();
            var (input, mask) = TextToTextFeaturizer.EncodeTexts(tok, [prompt], 64);
            var labels = tensor(targets[c].Select(x => (long)x).ToArray()).unsqueeze(0);
            using var output = mt5.Model.Forward(input, mask, labels: labels);
            var logits = output.Logits[0].to(ScalarType.Float64).data<double>().ToArray();
            int vocab = (int)output.Logits.size(-1);
            for (int t = 0; t < targets[c].Length; t++)
            {
                var row = logits.AsSpan(t * vocab, vocab);
                double max = double.NegativeInfinity;
                foreach (var x in row) max = Math.Max(max, x);
                double sum = 0;
                foreach (var x in row) sum += Math.Exp(x - max);
                expected[c] += row[targets[c][t]] - max - Math.Log(sum);
            }
        }

        // Batched: two examples (the same prompt and a different one) with padded inputs and padded targets.
        var (ids, attn) = TextToTextFeaturizer.EncodeTexts(tok, [prompt, "xcopa context: x question: cause"], 64);
        var chosen = SequenceScoring.Choose(mt5.Model, ids, attn, [targets, targets.Take(2).ToList()]);
        Assert.Equal(choices.Length, chosen[0].Scores.Length);
        for (int c = 0; c < choices.Length; c++) Assert.Equal(expected[c], chosen[0].Scores[c], 1e-3);
        Assert.Equal(Array.IndexOf(expected, expected.Max()), chosen[0].Best);
        Assert.Equal(2, chosen[1].Scores.Length);
        Assert.Equal(chosen[1].Scores[0] >= chosen[1].Scores[1] ? 0 : 1, chosen[1].Best);
        Assert.All(chosen.SelectMany(c => c.Scores), s => Assert.True(s < 0));
    }

    [Fact]
    public void EntityWordsAreMatchedAsTheTokenizerSpellsThem()
    {
        // mT5's SentencePiece generates NFKC text: a full-width word of the sentence comes back in ASCII.
        var panx = Verbalizer.For(TaskRegistry.Get("panx"));
        string[] words = ["in", "Ｐａｒｉｓ"];
        Assert.Equal(["O", "O"], TextToTextDecoder.EntityTags(panx, words, "LOC: Paris"));
        Assert.Equal(["O", "B-LOC"], TextToTextDecoder.EntityTags(panx, words, "LOC: Paris", TextToTextDecoder.RoundTrip(mt5.Tokenizer)));
    }

    [Fact]
    public void SuppressingEosForcesTheFullLength()
    {
        var (ids, mask) = TextToTextFeaturizer.EncodeTexts(mt5.Tokenizer, Inputs, 64);
        using var generated = mt5.Model.Generate(ids, mask, 12, ConstrainedDecoding.Suppress(mt5.Model.Config.EosTokenId));
        Assert.Equal(new long[] { Inputs.Length, 13 }, generated.shape);
        Assert.Equal(0, generated[.., 1..].eq(mt5.Model.Config.EosTokenId).sum().item<long>());
    }
}
