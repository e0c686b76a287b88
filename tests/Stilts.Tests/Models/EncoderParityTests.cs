using System.Text.Json.Nodes;
using Stilts.Models;
using static Stilts.Tests.Models.ReferenceVectors;
using static TorchSharp.torch;

namespace Stilts.Tests.Models;

// Outputs of our BERT / XLM-R ports against HF transformers 4.33 on the tiny random checkpoints in
// ../shared/testvectors (README there: float32, eval mode, |ours - ref| <= 1e-4 + 1e-4 |ref|).
public sealed class EncoderParityTests
{
    [Theory]
    [InlineData("bert")]
    [InlineData("xlm-roberta")]
    public void BaseModelMatchesHfForEverySentence(string family)
    {
        var v = Load(family)["base_model"]!;
        using var encoder = BaseEncoder(family);
        int index = 0;
        foreach (var c in v["cases"]!.AsArray())
        {
            using var scope = NewDisposeScope();
            bool hasStates = c!["hidden_states"] != null;
            using var noGrad = no_grad();
            using var output = encoder.forward(Input(c, hiddenStates: hasStates));
            string what = $"{family} case {index} '{c["text"]}'";
            AssertClose(output.LastHiddenState.squeeze(0), c["last_hidden_state"]!, $"{what} last_hidden_state");
            AssertClose(output.PoolerOutput!.squeeze(0), c["pooler_output"]!, $"{what} pooler_output");
            if (hasStates)
            {
                var states = c["hidden_states"]!.AsArray();
                Assert.Equal(states.Count, output.HiddenStates!.Count);
                for (int i = 0; i < states.Count; i++)
                    AssertClose(output.HiddenStates[i].squeeze(0), states[i]!, $"{what} hidden_states[{i}]");
            }
            else Assert.Null(output.HiddenStates);
            index++;
        }
        Assert.Equal(v["hidden_states_for"]!.AsArray().Count, v["cases"]!.AsArray().Count(c => c!["hidden_states"] != null));
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("xlm-roberta")]
    public void PaddedBatchMatchesHfOnRealTokens(string family)
    {
        var batch = Load(family)["base_model"]!["padded_batch"]!;
        using var encoder = BaseEncoder(family);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = Input(batch);
        Assert.Contains(0L, input.AttentionMask.data<long>().ToArray()); // the batch really is padded
        using var output = encoder.forward(input);
        var keep = KeepWhereMasked(batch["attention_mask"]!, output.LastHiddenState.shape[2]);
        AssertClose(output.LastHiddenState, batch["last_hidden_state"]!, $"{family} padded last_hidden_state", keep: keep);
        AssertClose(output.PoolerOutput!, batch["pooler_output"]!, $"{family} padded pooler_output");
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("xlm-roberta")]
    public void SequenceClassificationCheckpointLoadsByIdentityAndMatches(string family)
    {
        var v = Load(family)["sequence_classification"]!;
        using var model = HeadModel(family, "seq-cls", HeadKind.SequenceClassification);
        Assert.Equal(family == "bert", model.Encoder.HasPooler); // RoBERTa's classifier has its own dense+tanh
        using var noGrad = no_grad();
        foreach (var c in v["cases"]!.AsArray())
        {
            using var scope = NewDisposeScope();
            var logits = model.forward(Input(c!));
            AssertClose(logits.squeeze(0), c!["logits"]!, $"{family} seq-cls '{c["text"]}'");
        }
        using (NewDisposeScope())
        {
            var batch = v["padded_batch"]!;
            AssertClose(model.forward(Input(batch)), batch["logits"]!, $"{family} seq-cls padded batch");
        }
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("xlm-roberta")]
    public void TokenClassificationMatchesHf(string family)
    {
        var v = Load(family)["token_classification"]!;
        using var model = HeadModel(family, "token-cls", HeadKind.TokenClassification);
        Assert.False(model.Encoder.HasPooler);
        using var noGrad = no_grad();
        foreach (var c in v["cases"]!.AsArray())
        {
            using var scope = NewDisposeScope();
            AssertClose(model.forward(Input(c!)).squeeze(0), c!["logits"]!, $"{family} token-cls '{c["text"]}'");
        }
        using (NewDisposeScope())
        {
            var batch = v["padded_batch"]!;
            var logits = model.forward(Input(batch));
            AssertClose(logits, batch["logits"]!, $"{family} token-cls padded batch", keep: KeepWhereMasked(batch["attention_mask"]!, logits.shape[2]));
        }
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("xlm-roberta")]
    public void QuestionAnsweringLogitsAndSpanLossMatchHf(string family)
    {
        var batch = Load(family)["question_answering"]!["padded_batch"]!;
        using var model = HeadModel(family, "qa", HeadKind.QuestionAnswering);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var logits = model.forward(Input(batch));
        var (start, end) = QuestionAnsweringHead.Split(logits);
        var keep = KeepWhereMasked(batch["attention_mask"]!, 1);
        AssertClose(start, batch["start_logits"]!, $"{family} start_logits", keep: keep);
        AssertClose(end, batch["end_logits"]!, $"{family} end_logits", keep: keep);
        var labels = stack([Longs(batch["start_positions"]!), Longs(batch["end_positions"]!)], 1);      // (B, 2)
        AssertClose(model.Loss(logits, labels).item<float>(), batch["loss"]!, $"{family} qa loss");
    }

    [Fact]
    public void SpanLossIgnoresPositionsPastTheSequenceAsHfDoes()
    {
        using var scope = NewDisposeScope();
        var start = tensor(new float[] { 0.1f, 2f, -1f, 0.5f, 1f, 0f }, 2, 3);
        var end = tensor(new float[] { 1f, 0f, 0.3f, -2f, 0f, 4f }, 2, 3);
        // Row 1's answer was truncated away (position 7 >= T = 3): clamped to T, the ignore index, so only row 0 counts.
        var loss = Losses.Span(start, end, tensor(new long[] { 1, 7 }), tensor(new long[] { 2, 9 }));
        double ceStart = -Math.Log(Math.Exp(2) / (Math.Exp(0.1) + Math.Exp(2) + Math.Exp(-1)));
        double ceEnd = -Math.Log(Math.Exp(0.3) / (Math.Exp(1) + Math.Exp(0) + Math.Exp(0.3)));
        Assert.Equal((ceStart + ceEnd) / 2, loss.item<float>(), 5);
    }

    [Theory]
    [InlineData("bert")]
    [InlineData("xlm-roberta")]
    public void MultipleChoiceLogitsAndLossMatchHf(string family)
    {
        var batch = Load(family)["multiple_choice"]!["padded_batch"]!;
        using var model = HeadModel(family, "multiple-choice", HeadKind.MultipleChoice);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = Input(batch);
        Assert.Equal(3, input.InputIds.dim()); // (B, C, T)
        var logits = model.forward(input);
        AssertClose(logits, batch["logits"]!, $"{family} multiple-choice logits");
        AssertClose(model.Loss(logits, Longs(batch["labels"]!)).item<float>(), batch["loss"]!, $"{family} multiple-choice loss");
    }
}
