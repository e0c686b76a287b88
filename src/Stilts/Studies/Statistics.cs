namespace Stilts.Studies;

/// <summary>Mean and sample standard deviation (n - 1 in the denominator; 0 for a single value).</summary>
public sealed record MeanSd(double Mean, double Sd, int N);

/// <summary>A confidence interval of a mean.</summary>
public sealed record ConfidenceInterval(double Low, double High, double Level);

/// <summary>A paired comparison of two conditions measured on the same units (seeds, or seed x task cells).</summary>
public sealed record PairedComparison(
    double MeanDelta, double SdDelta, int N, double T, double PValue, ConfidenceInterval Bootstrap, bool Significant);

/// <summary>
/// The statistics every report comparison uses: mean +- sd, percentile-bootstrap 95% intervals and a two-sided
/// paired t-test. Pure functions; the bootstrap takes a seed so reports are reproducible.
/// </summary>
public static class Statistics
{
    public static MeanSd Summarize(IReadOnlyList<double> values)
    {
        if (values.Count == 0) return new MeanSd(double.NaN, double.NaN, 0);
        double mean = values.Average();
        double ss = values.Sum(v => (v - mean) * (v - mean));
        return new MeanSd(mean, values.Count > 1 ? Math.Sqrt(ss / (values.Count - 1)) : 0, values.Count);
    }

    /// <summary>Percentile bootstrap interval of the mean: resample with replacement, take the (1-level)/2 tails.</summary>
    public static ConfidenceInterval BootstrapMean(IReadOnlyList<double> values, double level = 0.95, int resamples = 10_000, int seed = 1234)
    {
        if (values.Count == 0) return new ConfidenceInterval(double.NaN, double.NaN, level);
        var rng = new Random(seed);
        var means = new double[resamples];
        for (int r = 0; r < resamples; r++)
        {
            double sum = 0;
            for (int i = 0; i < values.Count; i++) sum += values[rng.Next(values.Count)];
            means[r] = sum / values.Count;
        }
        Array.Sort(means);
        double tail = (1 - level) / 2;
        return new ConfidenceInterval(Quantile(means, tail), Quantile(means, 1 - tail), level);
    }

    /// <summary>Linear-interpolated quantile of sorted data (numpy's default "linear" method).</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q)
    {
        if (sorted.Count == 0) return double.NaN;
        double pos = q * (sorted.Count - 1);
        int lo = (int)Math.Floor(pos), hi = Math.Min(lo + 1, sorted.Count - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }

    /// <summary>
    /// Two-sided paired t-test of treatment - baseline over aligned pairs, with a bootstrap interval of the mean
    /// delta. Significant when p &lt; alpha and there are at least two pairs; with no spread at all, a non-zero
    /// delta counts as significant (p = 0) and a zero delta does not (p = 1).
    /// </summary>
    public static PairedComparison Paired(IReadOnlyList<double> treatment, IReadOnlyList<double> baseline, double alpha = 0.05, int seed = 1234)
    {
        if (treatment.Count != baseline.Count) throw new ArgumentException("paired samples must have the same length");
        var deltas = treatment.Zip(baseline, (t, b) => t - b).ToArray();
        var s = Summarize(deltas);
        var ci = BootstrapMean(deltas, 1 - alpha, seed: seed);
        if (s.N < 2) return new PairedComparison(s.Mean, s.Sd, s.N, double.NaN, double.NaN, ci, false);
        double se = s.Sd / Math.Sqrt(s.N);
        double t, p;
        if (se == 0) { t = s.Mean == 0 ? 0 : double.PositiveInfinity * Math.Sign(s.Mean); p = s.Mean == 0 ? 1 : 0; }
        else { t = s.Mean / se; p = StudentTwoSidedP(t, s.N - 1); }
        return new PairedComparison(s.Mean, s.Sd, s.N, t, p, ci, p < alpha);
    }

    /// <summary>P(|T| >= |t|) for Student's t with df degrees of freedom: I_{df/(df+t^2)}(df/2, 1/2).</summary>
    public static double StudentTwoSidedP(double t, double df) =>
        double.IsInfinity(t) ? 0 : RegularizedIncompleteBeta(df / (df + t * t), df / 2, 0.5);

    /// <summary>I_x(a, b) by Lentz's continued fraction, using the symmetry relation for convergence.</summary>
    public static double RegularizedIncompleteBeta(double x, double a, double b)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        double lnFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x);
        if (x > (a + 1) / (a + b + 2)) return 1 - Math.Exp(lnFront) * BetaFraction(1 - x, b, a) / b;
        return Math.Exp(lnFront) * BetaFraction(x, a, b) / a;
    }

    static double BetaFraction(double x, double a, double b)
    {
        const double tiny = 1e-300;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        d = Math.Abs(d) < tiny ? tiny : d;
        d = 1 / d;
        double h = d;
        for (int m = 1; m <= 500; m++)
        {
            int m2 = 2 * m;
            double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 + num * d; d = Math.Abs(d) < tiny ? tiny : d; d = 1 / d;
            c = 1 + num / c; c = Math.Abs(c) < tiny ? tiny : c;
            h *= d * c;
            num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 + num * d; d = Math.Abs(d) < tiny ? tiny : d; d = 1 / d;
            c = 1 + num / c; c = Math.Abs(c) < tiny ? tiny : c;
            double step = d * c;
            h *= step;
            if (Math.Abs(step - 1) < 1e-15) break;
        }
        return h;
    }

    /// <summary>ln Γ(x) by the Lanczos approximation (g = 7, 9 terms): ~15 significant digits for x > 0.</summary>
    public static double LogGamma(double x)
    {
        ReadOnlySpan<double> c =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        double sum = c[0];
        for (int i = 1; i < 9; i++) sum += c[i] / (x + i);
        double t = x + 7.5;
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
