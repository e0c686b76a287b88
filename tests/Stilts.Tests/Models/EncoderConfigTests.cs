using System.Text.Json.Nodes;
using Stilts.Models;

namespace Stilts.Tests.Models;

public sealed class EncoderConfigTests
{
    // A minimal valid bert config; tests remove or break one key at a time.
    const string Minimal = """
        {
          "model_type": "bert",
          "vocab_size": 99,
          "hidden_size": 32,
          "num_hidden_layers": 2,
          "num_attention_heads": 4,
          "intermediate_size": 37,
          "max_position_embeddings": 40,
          "bos_token_id": 5,
          "some_future_key": {"nested": [1, 2]}
        }
        """;

    static string With(string key, JsonNode? value)
    {
        var root = JsonNode.Parse(Minimal)!.AsObject();
        root[key] = value;
        return root.ToJsonString();
    }

    static string Without(string key)
    {
        var root = JsonNode.Parse(Minimal)!.AsObject();
        root.Remove(key);
        return root.ToJsonString();
    }

    [Fact]
    public void ReadsTheSharedBertConfig()
    {
        var c = EncoderConfig.FromFile(Path.Combine(TestPaths.TestVectors("bert"), "config.json"));
        Assert.Equal(EncoderFamily.Bert, c.Family);
        Assert.Equal((2000, 32, 2, 4, 64, 64), (c.VocabSize, c.HiddenSize, c.NumHiddenLayers, c.NumAttentionHeads, c.IntermediateSize, c.MaxPositionEmbeddings));
        Assert.Equal((2, 0, 1e-12, 0.2), (c.TypeVocabSize, c.PadTokenId, c.LayerNormEps, c.InitializerRange));
        Assert.Equal(Activation.Gelu, c.HiddenAct);
        Assert.Equal((0.1, 0.1), (c.HiddenDropoutProb, c.AttentionProbsDropoutProb));
        Assert.Null(c.ClassifierDropout);
        Assert.Equal(0.1, c.EffectiveClassifierDropout);
        Assert.Equal(["BertModel"], c.Architectures);
        Assert.Equal(8, c.HeadSize);
    }

    [Fact]
    public void XlmRobertaIsARobertaConfig()
    {
        var c = EncoderConfig.FromFile(Path.Combine(TestPaths.TestVectors("xlm-roberta"), "config.json"));
        Assert.Equal(("xlm-roberta", EncoderFamily.Roberta), (c.ModelType, c.Family));
        Assert.Equal((1, 1, 1e-5, 2002), (c.TypeVocabSize, c.PadTokenId, c.LayerNormEps, c.VocabSize));
        Assert.Equal(EncoderFamily.Roberta, EncoderConfig.FromJson(With("model_type", "camembert")).Family);
        Assert.Equal(EncoderFamily.Roberta, EncoderConfig.FromJson(With("model_type", "roberta")).Family);
    }

    [Fact]
    public void LabelsComeFromId2LabelInIdOrder()
    {
        var c = EncoderConfig.FromFile(Path.Combine(TestPaths.TestVectors("xlm-roberta"), "token-cls", "config.json"));
        Assert.Equal(["LABEL_0", "LABEL_1", "LABEL_2", "LABEL_3", "LABEL_4"], c.Labels);
        var named = EncoderConfig.FromJson(With("id2label", new JsonObject { ["1"] = "pos", ["0"] = "neg" }));
        Assert.Equal(["neg", "pos"], named.Labels);
        Assert.Equal(3, EncoderConfig.FromJson(With("num_labels", 3)).NumLabels);
        Assert.Equal(2, EncoderConfig.FromJson(Minimal).NumLabels); // HF's default
    }

    [Theory]
    [InlineData("vocab_size")]
    [InlineData("hidden_size")]
    [InlineData("num_hidden_layers")]
    [InlineData("num_attention_heads")]
    [InlineData("intermediate_size")]
    [InlineData("max_position_embeddings")]
    [InlineData("model_type")]
    public void MissingRequiredKeyNamesFileAndKey(string key)
    {
        string dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "config.json");
        File.WriteAllText(path, Without(key));
        var e = Assert.Throws<InvalidInputException>(() => EncoderConfig.FromFile(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(key, e.Message);
        Assert.Contains("missing", e.Message);
    }

    [Theory]
    [InlineData("hidden_size", "\"32\"")]
    [InlineData("hidden_size", "32.5")]
    [InlineData("layer_norm_eps", "\"small\"")]
    [InlineData("hidden_act", "3")]
    [InlineData("architectures", "\"BertModel\"")]
    [InlineData("hidden_dropout_prob", "1.5")]
    [InlineData("num_hidden_layers", "0")]
    [InlineData("id2label", "[\"a\", \"b\"]")]
    public void WrongValueNamesTheKey(string key, string json)
    {
        var e = Assert.Throws<InvalidInputException>(() => EncoderConfig.FromJson(With(key, JsonNode.Parse(json)), "my/config.json"));
        Assert.StartsWith($"my/config.json: {key}", e.Message);
    }

    [Fact]
    public void UnsupportedModelTypeAndActivationAreClearErrors()
    {
        var e = Assert.Throws<InvalidInputException>(() => EncoderConfig.FromJson(With("model_type", "gpt2")));
        Assert.Contains("model_type", e.Message);
        Assert.Contains("gpt2", e.Message);
        Assert.Contains("xlm-roberta", e.Message);
        var act = Assert.Throws<InvalidInputException>(() => EncoderConfig.FromJson(With("hidden_act", "swishy")));
        Assert.Contains("hidden_act", act.Message);
        Assert.Throws<InvalidInputException>(() => EncoderConfig.FromJson(With("position_embedding_type", "relative_key")));
        Assert.Throws<InvalidInputException>(() => EncoderConfig.FromJson(With("num_attention_heads", 5))); // 32 % 5 != 0
        Assert.Throws<InvalidInputException>(() => EncoderConfig.FromJson("{not json"));
    }

    [Theory]
    [InlineData("gelu", Activation.Gelu)]
    [InlineData("gelu_new", Activation.GeluTanh)]
    [InlineData("gelu_pytorch_tanh", Activation.GeluTanh)]
    [InlineData("relu", Activation.Relu)]
    public void ActivationNamesMapToKinds(string name, Activation expected) =>
        Assert.Equal(expected, EncoderConfig.FromJson(With("hidden_act", name)).HiddenAct);

    [Fact]
    public void SaveKeepsUnknownKeysAndWritesChanges()
    {
        var read = EncoderConfig.FromJson(With("hidden_act", "gelu_pytorch_tanh"));
        var changed = read with { Labels = ["no", "yes", "maybe"], HiddenDropoutProb = 0.2 };
        string path = Path.Combine(TestPaths.NewTempDir(), "config.json");
        changed.Save(path);

        var root = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        Assert.Equal(5, root["bos_token_id"]!.GetValue<int>());
        Assert.Equal(2, root["some_future_key"]!["nested"]![1]!.GetValue<int>());
        Assert.Equal("gelu_pytorch_tanh", root["hidden_act"]!.GetValue<string>()); // spelling kept
        Assert.Equal("maybe", root["id2label"]!["2"]!.GetValue<string>());
        Assert.Equal(1, root["label2id"]!["yes"]!.GetValue<int>());

        var reread = EncoderConfig.FromFile(path);
        Assert.Equal(changed with { RawJson = reread.RawJson }, reread with { Labels = changed.Labels, Architectures = changed.Architectures });
        Assert.Equal(changed.Labels, reread.Labels);
        Assert.Equal(0.2, reread.HiddenDropoutProb);
    }
}
