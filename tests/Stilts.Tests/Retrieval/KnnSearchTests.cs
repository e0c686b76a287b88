using Stilts.Retrieval;
using static TorchSharp.torch;

namespace Stilts.Tests.Retrieval;

public sealed class KnnSearchTests
{
    [Fact]
    public void FindsTheCosineNearestRowsAcrossBlocks()
    {
        // Index rows are unit vectors at known angles; queries sit near specific rows at different scales.
        float[] angles = [0f, 0.5f, 1.0f, 1.5f, 2.0f, 2.5f, 3.0f];
        var index = tensor(angles.SelectMany(a => new[] { MathF.Cos(a), MathF.Sin(a) }).ToArray(), angles.Length, 2);
        var queries = tensor(new float[] { 10f * MathF.Cos(1.1f), 10f * MathF.Sin(1.1f), 0.1f * MathF.Cos(2.9f), 0.1f * MathF.Sin(2.9f), 1, 0 }, 3, 2);
        var result = KnnSearch.Search(queries, index, k: 2, blockSize: 2); // blocks of 2 queries: exercises the loop
        Assert.Equal(2, result.Indices[0, 0]); // 1.1 is nearest to 1.0, then 1.5
        Assert.Equal(3, result.Indices[0, 1]);
        Assert.Equal(6, result.Indices[1, 0]); // 2.9: 3.0 then 2.5
        Assert.Equal(5, result.Indices[1, 1]);
        Assert.Equal(0, result.Indices[2, 0]);
        Assert.Equal(MathF.Cos(0.1f), result.Similarities[0, 0], 5);
        Assert.Equal(1f, result.Similarities[2, 0], 5);
    }

    [Fact]
    public void MatchesBruteForceOnRandomData()
    {
        var g = manual_seed(3);
        var index = randn(200, 16);
        var queries = randn(50, 16);
        var result = KnnSearch.Search(queries, index, k: 5, blockSize: 17);
        var qi = queries.data<float>().ToArray();
        var xi = index.data<float>().ToArray();
        for (int q = 0; q < 50; q++)
        {
            var cos = Enumerable.Range(0, 200).Select(n =>
            {
                double dot = 0, a = 0, b = 0;
                for (int d = 0; d < 16; d++) { dot += qi[q * 16 + d] * xi[n * 16 + d]; a += qi[q * 16 + d] * qi[q * 16 + d]; b += xi[n * 16 + d] * xi[n * 16 + d]; }
                return (n, sim: dot / Math.Sqrt(a * b));
            }).OrderByDescending(x => x.sim).Take(5).ToList();
            for (int j = 0; j < 5; j++)
            {
                Assert.Equal(cos[j].n, result.Indices[q, j]);
                Assert.Equal(cos[j].sim, result.Similarities[q, j], 4);
            }
        }
    }
}
