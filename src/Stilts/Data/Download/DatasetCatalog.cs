using System.Collections.Frozen;

namespace Stilts.Data.Download;

/// <summary>One file to fetch. FileName defaults to the URL's last segment. Sha256 is checked when given.</summary>
public sealed record SourceFile(string Url, string? Sha256 = null, string? FileName = null)
{
    public string Name => FileName ?? Uri.UnescapeDataString(new Uri(Url).Segments[^1]);
}

/// <summary>
/// A downloadable data set: where its files come from, the folder it ends up in under the target directory, and the
/// step that turns the downloaded files into the layout the readers expect. ManualFile names a file the user must
/// place in the target directory first (PAN-X), explained by Note.
/// </summary>
public sealed record DatasetSource(
    string Name, string Folder, IReadOnlyList<SourceFile> Files, Action<PrepareContext> Prepare,
    string? ManualFile = null, string? Note = null);

/// <summary>
/// The table of public sources. URLs follow google-research/xtreme scripts/download_data.sh (XTREME, XTREME-R,
/// SQuAD v1.1, SIQa), scripts/download_{lareqa,mewslix}_data.sh, and each data set's own release page for the
/// intermediate tasks. Checksums are filled in only where a published value was found; the rest are unverified.
/// </summary>
public static class DatasetCatalog
{
    public static readonly string[] XnliLanguages = "ar bg de el en es fr hi ru sw th tr ur vi zh".Split(' ');
    public static readonly string[] PawsXLanguages = "en de es fr ja ko zh".Split(' ');
    public static readonly string[] XquadLanguages = "ar de el en es hi ro ru th tr vi zh".Split(' ');
    public static readonly string[] XcopaLanguages = "et ht id it qu sw ta th tr vi zh".Split(' ');
    public static readonly string[] BuccLanguages = "de fr ru zh".Split(' ');
    /// <summary>UD v2.5 for the XTREME languages (as in the XTREME paper), v2.7 for the five XTREME-R additions.</summary>
    public static readonly string[] UdV25Languages = "af ar bg de el en es et eu fa fi fr he hi hu id it ja kk ko mr nl pt ru ta te th tl tr ur vi yo zh".Split(' ');
    public static readonly string[] UdV27Languages = "lt pl uk wo ro".Split(' ');
    public static readonly string[] PanXLanguages =
        "ar he vi id jv ms tl eu ml ta te af nl en de el bn hi mr ur fa fr it pt es bg ru ja ka ko th sw yo my zh kk tr et fi hu qu pl uk az lt pa gu ro".Split(' ');

    const string Squad = "https://rajpurkar.github.io/SQuAD-explorer/dataset/";
    const string Glue = "https://dl.fbaipublicfiles.com/glue/data/";
    const string UdV25 = "https://lindat.mff.cuni.cz/repository/xmlui/bitstream/handle/11234/1-3105/ud-treebanks-v2.5.tgz";
    const string UdV27 = "https://lindat.mff.cuni.cz/repository/xmlui/bitstream/handle/11234/1-3424/ud-treebanks-v2.7.tgz";

    /// <summary>PAN-X (WikiANN as split by XTREME) is only published behind an Amazon Cloud Drive share page.</summary>
    public const string PanXShare = "https://www.amazon.com/clouddrive/share/d3KGCRCIYwhKJF0H3eWA26hjg2ZCRhjpEQtDL70FSBN";

    public static readonly FrozenDictionary<string, DatasetSource> All = new DatasetSource[]
    {
        // ---- XTREME / XTREME-R targets ----
        // tensorflow/datasets records a SHA-256 for XNLI-1.0.zip only at its older cims.nyu.edu address; not reused
        // here because it is not known to be the same file.
        new("xnli", "xnli",
            [new("https://dl.fbaipublicfiles.com/XNLI/XNLI-1.0.zip"), new("https://dl.fbaipublicfiles.com/XNLI/XNLI-MT-1.0.zip")],
            XtremeLayouts.Xnli),
        new("pawsx", "pawsx", [new("https://storage.googleapis.com/paws/pawsx/x-final.tar.gz")], XtremeLayouts.PawsX),
        new("udpos", "udpos", [new(UdV25), new(UdV27)], XtremeLayouts.UdPos),
        new("panx", "panx", [], XtremeLayouts.PanX, ManualFile: "AmazonPhotos.zip",
            Note: $"PAN-X cannot be fetched automatically. Open {PanXShare} in a browser, download AmazonPhotos.zip, " +
                  "save it as {dir}/AmazonPhotos.zip (directly inside the --to folder) and run this command again."),
        new("xquad", "xquad", [.. XquadLanguages.Select(l => new SourceFile($"https://raw.githubusercontent.com/deepmind/xquad/master/xquad.{l}.json"))],
            XtremeLayouts.CopyAll),
        new("mlqa", "mlqa", [new("https://dl.fbaipublicfiles.com/MLQA/MLQA_V1.zip")], XtremeLayouts.ExtractAll),
        new("tydiqa", "tydiqa",
            [new("https://storage.googleapis.com/tydiqa/v1.1/tydiqa-goldp-v1.1-train.json"),
             new("https://storage.googleapis.com/tydiqa/v1.1/tydiqa-goldp-v1.1-dev.tgz")],
            XtremeLayouts.TyDiQa),
        new("bucc2018", "bucc2018",
            [.. BuccLanguages.SelectMany(l => new[] { "training", "sample" }.Select(s =>
                new SourceFile($"https://comparable.limsi.fr/bucc2018/bucc2018-{l}-en.{s}-gold.tar.bz2")))],
            XtremeLayouts.Bucc),
        // xtreme points at the LASER repository's main branch; the Tatoeba v1 files there have not changed since 2019.
        new("tatoeba", "tatoeba", [new("https://github.com/facebookresearch/LASER/archive/main.zip", FileName: "LASER-main.zip")],
            XtremeLayouts.Tatoeba),
        new("xcopa", "xcopa",
            [new("https://dl.fbaipublicfiles.com/glue/superglue/data/v2/COPA.zip"),
             .. XcopaLanguages.SelectMany(l => new[] { "val", "test" }.Select(s =>
                 new SourceFile($"https://raw.githubusercontent.com/cambridgeltl/xcopa/master/data/{l}/{s}.{l}.jsonl")))],
            XtremeLayouts.Xcopa),
        // XQuAD-R is published inside the LAReQA repository (folder xquad-r/).
        new("xquad-r", "lareqa", [new("https://github.com/google-research-datasets/lareqa/archive/master.zip", FileName: "lareqa-master.zip")],
            XtremeLayouts.ExtractFlatten("lareqa-master")),
        // The archive holds the mention/entity descriptors; the Wikinews article text is rebuilt by Google's Python
        // pipeline (google-research dense_representations_for_entity_retrieval/mel/get-mewsli-x.sh), not done here.
        new("mewslix", "mewslix", [new("https://storage.googleapis.com/gresearch/mewsli/mewsli-x_20220518_6.zip")],
            XtremeLayouts.ExtractAll,
            Note: "Mewsli-X: only the released archive is unpacked; the article text must still be reconstructed with " +
                  "get-mewsli-x.sh from google-research/dense_representations_for_entity_retrieval/mel."),

        // ---- intermediate tasks ----
        // Checksums of SQuAD v1.1, SNLI and MNLI as recorded for the same files in tensorflow/datasets url_checksums.
        new("squad", "squad",
            [new(Squad + "train-v1.1.json", Sha256: "3527663986b8295af4f7fcdff1ba1ff3f72d07d61a20f487cb238a6ef92fd955"),
             new(Squad + "dev-v1.1.json", Sha256: "95aa6a52d5d6a735563366753ca50492a658031da74f301ac5238b03966972c9")],
            XtremeLayouts.CopyAll),
        new("squad-v2", "squad_v2", [new(Squad + "train-v2.0.json"), new(Squad + "dev-v2.0.json")], XtremeLayouts.CopyAll),
        // MNLI.zip: 312,783,507 bytes; the same SHA-256 is recorded by tensorflow/datasets (glue) and a second loader.
        new("mnli", "mnli", [new(Glue + "MNLI.zip", Sha256: "e7c1d896d26ed6caf700110645df426cc2d8ebf02a5ab743d5a5c68ac1c83633")],
            XtremeLayouts.ExtractFlatten("MNLI")),
        new("qqp", "qqp", [new(Glue + "QQP-clean.zip")], XtremeLayouts.ExtractFlatten("QQP")),
        new("snli", "snli", [new("https://nlp.stanford.edu/projects/snli/snli_1.0.zip", Sha256: "afb3d70a5af5d8de0d9d81e2637e0fb8c22d1235c2749d83125ca43dab0dbd3e")],
            XtremeLayouts.ExtractFlatten("snli_1.0")),
        // ANLI v1.0 checksum as recorded (with size 18,708,061 bytes) by two independent third-party loaders
        // (tensorflow/datasets only records the older v0.1 archive).
        new("anli", "anli", [new("https://dl.fbaipublicfiles.com/anli/anli_v1.0.zip", Sha256: "e5c058f2bb4e6190b0651badca2c590e45db95248f8b28cde674615ee40820bf")],
            XtremeLayouts.ExtractFlatten("anli_v1.0")),
        new("hellaswag", "hellaswag",
            [.. new[] { "train", "val", "test" }.Select(s => new SourceFile($"https://raw.githubusercontent.com/rowanz/hellaswag/master/data/hellaswag_{s}.jsonl"))],
            XtremeLayouts.CopyAll),
        new("commonsenseqa", "commonsenseqa",
            [new("https://s3.amazonaws.com/commensenseqa/train_rand_split.jsonl"),
             new("https://s3.amazonaws.com/commensenseqa/dev_rand_split.jsonl"),
             new("https://s3.amazonaws.com/commensenseqa/test_rand_split_no_answers.jsonl")],
            XtremeLayouts.CopyAll),
        new("cosmosqa", "cosmosqa",
            [new("https://raw.githubusercontent.com/wilburOne/cosmosqa/master/data/train.csv"),
             new("https://raw.githubusercontent.com/wilburOne/cosmosqa/master/data/valid.csv"),
             new("https://raw.githubusercontent.com/wilburOne/cosmosqa/master/data/test.jsonl")],
            XtremeLayouts.CopyAll),
        new("siqa", "siqa", [new("https://maartensap.github.io/social-iqa/data/socialIQa_v1.4.tgz")], XtremeLayouts.ExtractAll),
        new("copa", "copa", [new("https://dl.fbaipublicfiles.com/glue/superglue/data/v2/COPA.zip")], XtremeLayouts.ExtractFlatten("COPA")),
    }.ToFrozenDictionary(d => d.Name);

    /// <summary>Benchmark bundles: the target tasks plus the English training data they need (SQuAD v1.1 for QA, SIQa for XCOPA).</summary>
    public static readonly FrozenDictionary<string, string[]> Groups = new Dictionary<string, string[]>
    {
        ["xtreme"] = ["xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba", "squad"],
        ["xtreme-r"] = ["xnli", "xcopa", "udpos", "panx", "xquad", "mlqa", "tydiqa", "mewslix", "xquad-r", "tatoeba", "squad", "siqa"],
    }.ToFrozenDictionary();

    /// <summary>The data sets behind a data-set or group name; unknown names list what is known.</summary>
    public static IReadOnlyList<DatasetSource> Resolve(string name)
    {
        string key = name.Trim().ToLowerInvariant();
        if (Groups.TryGetValue(key, out var members)) return [.. members.Select(m => All[m])];
        if (All.TryGetValue(key, out var one)) return [one];
        throw new InvalidInputException("dataset", $"unknown data set \"{name}\"; known: {string.Join(", ", Groups.Keys.Concat(All.Keys.Order()))}");
    }
}
