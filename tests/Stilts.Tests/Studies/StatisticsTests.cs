using Stilts.Studies;

namespace Stilts.Tests.Studies;

public sealed class StatisticsTests
{
    [Fact]
    public void MeanAndSampleSdMatchHandComputation()
    {
        // values 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum 32, sample variance 32/7
        var s = Statistics.Summarize([2, 4, 4, 4, 5, 5, 7, 9]);
        Assert.Equal(5.0, s.Mean, 12);
        Assert.Equal(Math.Sqrt(32.0 / 7), s.Sd, 12);
        Assert.Equal(8, s.N);
        Assert.Equal(0.0, Statistics.Summarize([3.5]).Sd);
    }

    [Theory]
    // Critical values of Student's t from standard tables: two-sided p = 0.05 and 0.01.
    [InlineData(12.706, 1, 0.05)]
    [InlineData(2.776, 4, 0.05)]
    [InlineData(2.228, 10, 0.05)]
    [InlineData(3.169, 10, 0.01)]
    [InlineData(1.96, 100000, 0.05)]
    public void StudentTTailMatchesTables(double t, double df, double p) =>
        Assert.Equal(p, Statistics.StudentTwoSidedP(t, df), 3);

    [Fact]
    public void PairedTestOnHandComputedDeltas()
    {
        // deltas 1, 2, 3, 4, 5 (treatment - baseline): mean 3, sd sqrt(2.5), t = 3 / (sqrt(2.5)/sqrt(5)) = 4.2426
        var c = Statistics.Paired([11, 22, 33, 44, 55], [10, 20, 30, 40, 50]);
        Assert.Equal(3.0, c.MeanDelta, 12);
        Assert.Equal(Math.Sqrt(2.5), c.SdDelta, 12);
        Assert.Equal(3 / Math.Sqrt(0.5), c.T, 9);
        // t = 4.2426 with 4 df lies between the 0.02 (3.747) and 0.01 (4.604) critical values.
        Assert.InRange(c.PValue, 0.01, 0.02);
        Assert.True(c.Significant);
        Assert.True(c.Bootstrap.Low >= 1 && c.Bootstrap.High <= 5 && c.Bootstrap.Low < 3 && c.Bootstrap.High > 3);
    }

    [Fact]
    public void NoisyDeltaIsNotSignificant()
    {
        var c = Statistics.Paired([1, -1, 2, -2], [0, 0, 0, 0]);
        Assert.Equal(0.0, c.MeanDelta, 12);
        Assert.False(c.Significant);
        Assert.Equal(1.0, c.PValue, 9);
    }

    [Fact]
    public void BootstrapIsSeededAndBracketsTheMean()
    {
        double[] v = [70.1, 71.3, 69.8, 72.0, 70.6];
        var a = Statistics.BootstrapMean(v, seed: 7);
        var b = Statistics.BootstrapMean(v, seed: 7);
        Assert.Equal(a, b);
        Assert.InRange(v.Average(), a.Low, a.High);
        Assert.True(a.Low >= v.Min() && a.High <= v.Max());
    }

    [Fact]
    public void QuantileInterpolatesLikeNumpy()
    {
        double[] sorted = [1, 2, 3, 4];
        Assert.Equal(1.75, Statistics.Quantile(sorted, 0.25), 12); // numpy.quantile([1,2,3,4], .25) = 1.75
        Assert.Equal(4.0, Statistics.Quantile(sorted, 1), 12);
    }
}
