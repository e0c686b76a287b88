using Stilts.Models;
using Stilts.Retrieval;
using Stilts.Tests.TextToText;
using Stilts.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Tests.Retrieval;

public sealed class T5SentenceVectorsTests(Mt5Checkpoint mt5) : IClassFixture<Mt5Checkpoint>
{
    static readonly string[] Texts =
    [
        "A long sentence with quite a few words in it to make the padding matter.",
        "Short.",
        "Eine mittellange Zeile auf Deutsch.",
        "中文句子",
        "Another sentence of medium length here.",
    ];

    [Fact]
    public void BatchedVectorsEqualOneTextAtATimeInTheCallersOrder()
    {
        using var vectors = T5SentenceVectors.Encode(mt5.Model, mt5.Tokenizer, Texts, batchSize: 2);
        Assert.Equal(new long[] { Texts.Length, mt5.Model.Config.DModel }, vectors.shape);
        for (int i = 0; i < Texts.Length; i++)
        {
            using var scope = NewDisposeScope();
            var ids = tensor(mt5.Tokenizer.Encode(Texts[i]).Ids.Select(x => (long)x).ToArray()).unsqueeze(0);
            var single = mt5.Model.EncodeMeanPooled(ids, ones_like(ids))[0];
            Assert.True(allclose(vectors[i], single, rtol: 1e-4, atol: 1e-5), $"text {i}");
        }
    }

    [Fact]
    public void EncoderOnlyModelGivesTheSameVectorsAndFeedsKnnSearch()
    {
        using var encoder = T5EncoderModel.FromPretrained(mt5.Directory);
        using var a = T5SentenceVectors.Encode(encoder, mt5.Tokenizer, Texts, batchSize: 3);
        using var b = T5SentenceVectors.Encode(mt5.Model, mt5.Tokenizer, Texts, batchSize: 5);
        Assert.True(allclose(a, b, rtol: 1e-4, atol: 1e-5));
        // Each text's nearest neighbour in its own set is itself.
        var knn = KnnSearch.Search(KnnSearch.Normalize(a), KnnSearch.Normalize(a), k: 1);
        for (int i = 0; i < Texts.Length; i++) Assert.Equal(i, knn.Indices[i, 0]);
    }
}
