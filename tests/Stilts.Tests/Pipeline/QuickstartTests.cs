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
    [Fact(Skip = "Not met yet: with the current toy world the zero-shot scores are at chance (about 50%) and the English " +
        "baseline sometimes fails to learn; see the pipeline report. Remove the Skip once the toy world transfers.")]
    public void Zero_shot_accuracy_on_held_out_toy_languages_is_well_above_chance()
    {
        var options = new QuickstartOptions
        {
            Folder = TestPaths.NewTempDir("stilts-quickstart"),
            World = new ToyWorldOptions { NliTrain = 600, SentimentTrain = 1000, PosTrain = 50, DevSize = 100, TestSize = 200, CorpusSize = 2000 },
            PretrainEpochs = 5, IntermediateEpochs = 1, TargetEpochs = 3,
        };
        var result = Quickstart.Run(options, AutoTokenizer.FromFolder);
        output.WriteLine(result.Table());
        Assert.Equal(["en", "cy", "gr", "la", "sy"], result.Multilingual.Select(r => r.Language));
        var heldOut = result.Multilingual.Where(r => r.Language != "en").ToList();
        // Chance is 1/2 (two labels, about balanced).
        Assert.True(heldOut.Average(r => r.Baseline) > 0.62, $"multilingual baseline zero-shot average {heldOut.Average(r => r.Baseline):F3}");
        Assert.True(heldOut.Average(r => r.Intermediate) > 0.62, $"multilingual intermediate zero-shot average {heldOut.Average(r => r.Intermediate):F3}");
        Assert.True(result.Multilingual[0].Baseline > 0.8, "English (the training language) should be learned well");
        Assert.True(File.Exists(Path.Combine(options.Folder, "results.txt")));
    }
}
