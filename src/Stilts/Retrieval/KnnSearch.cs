using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Retrieval;

/// <summary>The k nearest neighbours of each query: indices into the index set and their cosine similarities.</summary>
public sealed record KnnResult(int[,] Indices, float[,] Similarities)
{
    public int Queries => Indices.GetLength(0);
    public int K => Indices.GetLength(1);
}

/// <summary>
/// Exact cosine k-NN for retrieval tasks (BUCC mining, Tatoeba, LAReQA, Mewsli-X), as faiss IndexFlatIP does on
/// L2-normalised vectors: one GEMM per block of queries against the whole index, then top-k. Blocking bounds
/// memory to block x N scores; the GEMM is where the time goes, so this runs near the machine's matmul peak.
/// </summary>
public static class KnnSearch
{
    /// <summary>Rows scaled to unit L2 norm (zero rows stay zero), in fp32.</summary>
    public static Tensor Normalize(Tensor x)
    {
        using var scope = NewDisposeScope();
        var f = x.to_type(ScalarType.Float32);
        var norm = f.norm(1, keepdim: true).clamp_min(1e-12);
        return (f / norm).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// For every row of <paramref name="queries"/> (Q, D), the <paramref name="k"/> rows of <paramref name="index"/>
    /// (N, D) with the highest cosine similarity, best first. Ties keep the lower index first.
    /// </summary>
    public static KnnResult Search(Tensor queries, Tensor index, int k, int blockSize = 4096)
    {
        if (queries.dim() != 2 || index.dim() != 2 || queries.shape[1] != index.shape[1])
            throw new ArgumentException($"expected (Q, D) and (N, D) with the same D, got [{string.Join(",", queries.shape)}] and [{string.Join(",", index.shape)}]");
        long q = queries.shape[0], n = index.shape[0];
        k = (int)Math.Min(k, n);
        var indices = new int[q, k];
        var sims = new float[q, k];
        using var scope = NewDisposeScope();
        var idx = Normalize(index);
        var idxT = idx.t().contiguous(); // (D, N): one transpose for all blocks
        for (long start = 0; start < q; start += blockSize)
        {
            using var block = NewDisposeScope();
            long len = Math.Min(blockSize, q - start);
            var qb = Normalize(queries.narrow(0, start, len).to(idx.device));
            var scores = qb.matmul(idxT);                     // (len, N)
            var (values, positions) = scores.topk(k, dim: 1, largest: true, sorted: true);
            var v = values.cpu().data<float>().ToArray();
            var p = positions.cpu().to_type(ScalarType.Int32).data<int>().ToArray();
            for (long i = 0; i < len; i++)
                for (int j = 0; j < k; j++)
                {
                    indices[start + i, j] = p[i * k + j];
                    sims[start + i, j] = v[i * k + j];
                }
        }
        return new KnnResult(indices, sims);
    }
}
