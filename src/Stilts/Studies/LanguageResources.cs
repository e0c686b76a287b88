namespace Stilts.Studies;

public enum ResourceLevel { High, Medium, Low }

/// <summary>
/// The benchmark languages grouped by how much pretraining text XLM-R had for them (CC-100, XLM-R paper,
/// Conneau et al. 2020, appendix table of GiB per language). Values are approximate (rounded, recalled from the
/// paper, not re-measured); the report only uses the three coarse tiers: High >= 50 GiB, Medium 5-50 GiB,
/// Low &lt; 5 GiB. Languages absent from CC-100 (qu, ht, wo) are Low with 0 GiB.
/// </summary>
public static class LanguageResources
{
    public static IReadOnlyDictionary<string, double> CcGiB { get; } = new Dictionary<string, double>
    {
        ["en"] = 300.8, ["ru"] = 278.0, ["id"] = 148.3, ["vi"] = 137.3, ["fa"] = 111.6, ["uk"] = 84.6, ["th"] = 71.7,
        ["ja"] = 69.3, ["de"] = 66.6, ["ro"] = 61.4, ["hu"] = 58.4, ["bg"] = 57.5, ["fr"] = 56.8, ["fi"] = 54.3,
        ["ko"] = 54.2, ["es"] = 53.3, ["pt"] = 49.1, ["el"] = 46.9, ["zh"] = 46.9, ["pl"] = 44.6, ["he"] = 31.6,
        ["it"] = 30.2, ["nl"] = 29.3, ["ar"] = 28.0, ["tr"] = 20.9, ["hi"] = 20.2, ["lt"] = 13.7, ["ta"] = 12.2,
        ["ka"] = 9.1, ["bn"] = 8.4, ["ms"] = 8.5, ["ml"] = 7.6, ["az"] = 6.5, ["kk"] = 6.4, ["et"] = 6.1,
        ["ur"] = 5.7, ["te"] = 4.7, ["tl"] = 3.1, ["mr"] = 2.8, ["eu"] = 2.0, ["gu"] = 1.9, ["sw"] = 1.6,
        ["af"] = 1.3, ["pa"] = 0.8, ["my"] = 0.4, ["jv"] = 0.2, ["yo"] = 0.1, ["qu"] = 0, ["ht"] = 0, ["wo"] = 0,
    };

    /// <summary>The tier of a language; unknown codes (toy languages, new benchmarks) are Low.</summary>
    public static ResourceLevel Level(string language) =>
        CcGiB.TryGetValue(language, out double gib) ? gib >= 50 ? ResourceLevel.High : gib >= 5 ? ResourceLevel.Medium : ResourceLevel.Low
        : ResourceLevel.Low;
}
