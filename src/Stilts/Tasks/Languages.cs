using System.Collections.Frozen;

namespace Stilts.Tasks;

/// <summary>
/// XTREME / XTREME-R language lists (google-research/xtreme evaluate.py task→langs dicts, BENCHMARK-FACTS §3.2) and
/// the ISO 639-3 → XTREME code table for Tatoeba's LASER file names.
/// </summary>
public static class Languages
{
    static string[] L(string spaceSeparated) => spaceSeparated.Split(' ');

    /// <summary>The 40 XTREME languages.</summary>
    public static IReadOnlyList<string> Xtreme { get; } =
        L("af ar bg bn de el en es et eu fa fi fr he hi hu id it ja jv ka kk ko ml mr ms my nl pt ru sw ta te th tl tr ur vi yo zh");

    /// <summary>The 50 XTREME-R languages: the XTREME 40 plus ten.</summary>
    public static IReadOnlyList<string> XtremeR { get; } = [.. Xtreme, .. L("az gu ht lt pa pl qu ro uk wo")];

    public static IReadOnlyList<string> Xnli { get; } = L("ar bg de el en es fr hi ru sw th tr ur vi zh");
    public static IReadOnlyList<string> PawsX { get; } = L("de en es fr ja ko zh");
    public static IReadOnlyList<string> UdPos { get; } =
        L("af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo zh");
    public static IReadOnlyList<string> UdPosR { get; } = [.. UdPos, .. L("lt pl uk wo ro")];
    public static IReadOnlyList<string> PanX { get; } = Xtreme;
    public static IReadOnlyList<string> PanXR { get; } = [.. Xtreme, .. L("qu pl uk az lt pa gu ro")];
    public static IReadOnlyList<string> XQuad { get; } = L("en es de el ru tr ar vi th zh hi");
    public static IReadOnlyList<string> XQuadR { get; } = [.. XQuad, "ro"];
    public static IReadOnlyList<string> Mlqa { get; } = L("en es de ar hi vi zh");
    public static IReadOnlyList<string> TydiQa { get; } = L("en ar bn fi id ko ru sw te");
    public static IReadOnlyList<string> Bucc { get; } = L("de fr ru zh");
    public static IReadOnlyList<string> Tatoeba { get; } = [.. Xtreme.Where(l => l is not ("en" or "ms" or "my" or "yo"))];
    public static IReadOnlyList<string> TatoebaR { get; } = [.. Tatoeba, .. L("az lt pl uk ro")];
    public static IReadOnlyList<string> XCopa { get; } = L("et ht id it qu sw ta th tr vi zh");
    public static IReadOnlyList<string> MewsliX { get; } = L("ar de en es fa ja pl ro ta tr uk");
    /// <summary>XQuAD-R: the XQuAD 11 languages (LAReQA's candidate pool spans all of them).</summary>
    public static IReadOnlyList<string> LaReqa { get; } = XQuad;

    /// <summary>
    /// LASER v1 Tatoeba file codes (tatoeba.{xxx}-eng.{xxx}) → XTREME codes, for the 41 XTREME-R Tatoeba languages.
    /// Note the non-obvious ones: pes (Iranian Persian) → fa, swh (Swahili) → sw, cmn (Mandarin) → zh, tgl → tl.
    /// </summary>
    public static FrozenDictionary<string, string> TatoebaIso3 { get; } = new Dictionary<string, string>
    {
        ["afr"] = "af", ["ara"] = "ar", ["bul"] = "bg", ["ben"] = "bn", ["deu"] = "de", ["ell"] = "el",
        ["spa"] = "es", ["est"] = "et", ["eus"] = "eu", ["pes"] = "fa", ["fin"] = "fi", ["fra"] = "fr",
        ["heb"] = "he", ["hin"] = "hi", ["hun"] = "hu", ["ind"] = "id", ["ita"] = "it", ["jpn"] = "ja",
        ["jav"] = "jv", ["kat"] = "ka", ["kaz"] = "kk", ["kor"] = "ko", ["mal"] = "ml", ["mar"] = "mr",
        ["nld"] = "nl", ["por"] = "pt", ["rus"] = "ru", ["swh"] = "sw", ["tam"] = "ta", ["tel"] = "te",
        ["tha"] = "th", ["tgl"] = "tl", ["tur"] = "tr", ["urd"] = "ur", ["vie"] = "vi", ["cmn"] = "zh",
        ["aze"] = "az", ["lit"] = "lt", ["pol"] = "pl", ["ukr"] = "uk", ["ron"] = "ro",
    }.ToFrozenDictionary();

    /// <summary>Throws unless <paramref name="language"/> is in <paramref name="valid"/>; the message lists them.</summary>
    public static string Check(string language, IReadOnlyList<string> valid, string where)
    {
        if (!valid.Contains(language))
            throw new InvalidInputException(where,
                $"unknown language code \"{language}\"; valid: {string.Join(" ", valid.Order(StringComparer.Ordinal))}");
        return language;
    }
}
