using Stilts.Bench;

namespace Stilts.Tests.Bench;

/// <summary>CI's check of the bench: a smoke run (tiny sizes) produces every section's rows and none failed.
/// No timing is asserted: this machine's speed varies too much for that.</summary>
public sealed class BenchSmokeTests
{
    [Fact]
    public void SmokeRunProducesEverySectionWithoutErrors()
    {
        var log = new StringWriter();
        var rows = Program.RunAll(smoke: true, log);

        Assert.All(rows, r => Assert.NotEqual("error", r.Name));
        foreach (var section in Sections.All)
            Assert.Contains(rows, r => r.Section == section.Name);
        Assert.All(rows, r => Assert.False(string.IsNullOrWhiteSpace(r.Value), $"{r.Section} / {r.Name} has no value"));
        // The sections that compare against a target say whether it was met.
        foreach (var section in new[] { "Training step", "Memory", "Overhead", "Retrieval" })
            Assert.Contains(rows, r => r.Section == section && r.Met.HasValue);
        // Tokenization checks parity before timing: either that row exists or the reason it could not run is given.
        Assert.Contains(rows, r => r.Section == "Tokenization" && (r.Name.StartsWith("ids identical") || r.Value is "not run" or "not installed"));
        Assert.Contains(rows, r => r.Section == "Training step" && r.Name.Contains("PyTorch"));
        Assert.Equal(6, rows.Count(r => r.Section == "Inference"));
    }

    [Fact]
    public void CorpusIsDeterministicAndMultilingual()
    {
        var a = MultilingualCorpus.Generate(2000, seed: 9).ToList();
        var b = MultilingualCorpus.Generate(2000, seed: 9).ToList();
        Assert.Equal(a, b);
        Assert.NotEqual(a, MultilingualCorpus.Generate(2000, seed: 10).ToList());
        Assert.All(a, l => Assert.False(string.IsNullOrWhiteSpace(l) || l.Contains('\n')));
        string all = string.Concat(a);
        Assert.Contains(all, c => c is >= '\u0400' and <= '\u04FF');      // Cyrillic
        Assert.Contains(all, c => c is >= '\u0600' and <= '\u06FF');      // Arabic
        Assert.Contains(all, c => c is >= '\u0900' and <= '\u097F');      // Devanagari
        Assert.Contains(all, c => c is >= '\u4E00' and <= '\u9FFF');      // CJK ideographs
        Assert.Contains(all, c => c is >= '\uAC00' and <= '\uD7AF');      // Hangul
        Assert.Contains(all, c => c is 'é' or 'ü' or 'ñ' or 'ç');         // Latin accents
        Assert.Contains(all, char.IsDigit);
        Assert.True(a.Distinct().Count() > 1990, "lines should rarely repeat");
    }
}
