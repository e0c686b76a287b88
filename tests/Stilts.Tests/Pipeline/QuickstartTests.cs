using Stilts.Pipeline;
using Stilts.Tokenization;
using Xunit.Abstractions;

namespace Stilts.Tests.Pipeline;

public class QuickstartTests(ITestOutputHelper output)
{
    /// <summary>
    /// A smaller quickstart: the numbers come from training (nothing in the toy world encodes the answers across
    /// languages: each made-up language has its own words), so zero-shot accuracy above chance on held-out languages
    /// means the pipeline really transferred what it learned in English.
    /// </summary>
    [Fact]
    public void Zero_shot_accuracy_on_held_out_toy_languages_is_well_above_chance()
    {
        // The quickstart's own defaults (under a minute on 2 cores): the test checks what the README's command shows.
        var options = new QuickstartOptions { Folder = TestPaths.NewTempDir("stilts-quickstart") };
        var result = Quickstart.Run(options, AutoTokenizer.FromFolder);
        output.WriteLine(result.Table());
        Assert.Equal(["en", "cy", "gr", "la", "sy"], result.Multilingual.Select(r => r.Language));
        var heldOut = result.Multilingual.Where(r => r.Language != "en").ToList();
        // Chance is 1/2 (two balanced labels); 4 languages x 500 test sentences, so 0.60 is about 9 standard errors above it.
        double transferred = heldOut.Average(r => r.Intermediate);
        Assert.True(transferred > 0.60, $"multilingual intermediate zero-shot average {transferred:F3}");
        Assert.True(heldOut.Max(r => Math.Max(r.Baseline, r.Intermediate)) > 0.65, "no held-out language clearly above chance");
        Assert.True(result.Multilingual[0].Baseline > 0.8 && result.Multilingual[0].Intermediate > 0.8, "English (the training language) should be learned well");
        Assert.True(File.Exists(Path.Combine(options.Folder, "results.txt")));
    }
}
