using Stilts.Pipeline;

namespace Stilts.Tests.Pipeline;

public class FeatureCacheTests
{
    static readonly string[] Vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "dog", "sees", "a", "cat"];

    static IEnumerable<int[][]> Rows(int n, Action onRow)
    {
        for (int i = 0; i < n; i++)
        {
            onRow();
            yield return [Enumerable.Range(i, 1 + i % 7).ToArray(), Enumerable.Repeat(1, 1 + i % 7).ToArray(), [i % 3]];
        }
    }

    [Fact]
    public void Second_use_reads_the_cache_without_featurizing_again()
    {
        string root = TestPaths.NewTempDir();
        var tok = new WhitespaceTokenizer(Vocab);
        var key = new CacheKey("xnli", "train", "en", "data/xnli", FeatureCache.Fingerprint(tok), 128);
        int produced = 0;
        using (var first = new FeatureCache(root, rowsPerChunk: 16).GetOrCreate(key, () => Rows(100, () => produced++)))
        {
            Assert.Equal(100, first.Count);
            Assert.Equal(100, produced);
        }
        // A new cache object over the same folder (a later run) finds the entry.
        var cache = new FeatureCache(root, rowsPerChunk: 16);
        Assert.True(cache.Contains(key));
        using var second = cache.GetOrCreate(key, () => Rows(100, () => produced++));
        Assert.Equal(100, produced);
        Assert.Equal(7, Directory.GetFiles(Path.Combine(root, key.FolderName), "chunk-*.bin").Length);
        for (int i = 0; i < 100; i += 13)
        {
            var row = second[i];
            Assert.Equal(Enumerable.Range(i, 1 + i % 7), row[0]);
            Assert.Equal([i % 3], row[2]);
            Assert.Equal(1 + i % 7, second.Lengths[i]);
        }
        Assert.Equal([97, 98, 99, 100, 101, 102, 103], second[97][0]);
    }

    [Fact]
    public void Keys_differ_by_tokenizer_length_split_and_data()
    {
        var a = new WhitespaceTokenizer(Vocab);
        var b = new WhitespaceTokenizer([.. Vocab, "bird"]);
        Assert.Equal(FeatureCache.Fingerprint(a), FeatureCache.Fingerprint(new WhitespaceTokenizer(Vocab)));
        Assert.NotEqual(FeatureCache.Fingerprint(a), FeatureCache.Fingerprint(b));
        var key = new CacheKey("xnli", "train", "en", "d", FeatureCache.Fingerprint(a), 128);
        var names = new[] { key, key with { MaxLength = 256 }, key with { Split = "dev" }, key with { DataPath = "translated" },
            key with { TokenizerFingerprint = FeatureCache.Fingerprint(b) } }.Select(k => k.FolderName).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
    }

    [Fact]
    public void A_failed_build_leaves_no_entry()
    {
        string root = TestPaths.NewTempDir();
        var key = new CacheKey("t", "train", "en", "d", "fp", 8);
        var cache = new FeatureCache(root);
        IEnumerable<int[][]> Broken() { yield return [[1]]; throw new InvalidInputException("d/train-en.tsv:2", "bad row"); }
        Assert.Throws<InvalidInputException>(() => cache.GetOrCreate(key, Broken));
        Assert.False(cache.Contains(key));
        Assert.Empty(Directory.GetDirectories(root));
    }
}
