using System.Text;
using System.Text.Json.Nodes;

namespace Stilts.Data.Download;

/// <summary>
/// The prepare steps: the same layout changes xtreme's download_data.sh + utils_preprocess.py make, so the files land
/// where and how the readers expect them. One deliberate difference: xtreme blanks or drops test labels (QA answers,
/// XNLI/PAWS-X/UD/PAN-X test labels, BUCC test gold, Tatoeba alignment) "to prevent cheating"; Stilts scores
/// locally, so every split keeps its labels in the same column layout as train/dev.
/// </summary>
static class XtremeLayouts
{
    static readonly UTF8Encoding Utf8 = new(false);

    public static void CopyAll(PrepareContext ctx)
    {
        Directory.CreateDirectory(ctx.Output);
        foreach (var file in Directory.GetFiles(ctx.Downloads))
            File.Copy(file, Path.Combine(ctx.Output, Path.GetFileName(file)), overwrite: true);
    }

    /// <summary>Every downloaded archive unpacked as is into the output folder.</summary>
    public static void ExtractAll(PrepareContext ctx)
    {
        Directory.CreateDirectory(ctx.Output);
        foreach (var file in Directory.GetFiles(ctx.Downloads).Order())
            ArchiveExtractor.Extract(file, ctx.Output);
    }

    /// <summary>The archive's single top folder (e.g. "MNLI/") becomes the output folder.</summary>
    public static Action<PrepareContext> ExtractFlatten(string top) => ctx =>
    {
        string archive = Directory.GetFiles(ctx.Downloads).Single();
        string dir = ctx.Extract(archive);
        string inner = Path.Combine(dir, top);
        if (!Directory.Exists(inner)) throw new InvalidInputException(archive, $"expected a top-level folder \"{top}/\"");
        Directory.Move(inner, ctx.Output);
    };

    // XNLI: train-en.tsv from XNLI-MT's English MultiNLI train, dev-xx/test-xx from XNLI-1.0 (language col 0,
    // gold label col 1, sentences cols 6 and 7), all "premise \t hypothesis \t label" with "contradictory" read as
    // "contradiction".
    public static void Xnli(PrepareContext ctx)
    {
        string mt = ctx.Extract(ctx.Input("XNLI-MT-1.0.zip"), n => n.EndsWith("multinli/multinli.train.en.tsv"));
        string train = Directory.GetFiles(mt, "multinli.train.en.tsv", SearchOption.AllDirectories).SingleOrDefault()
            ?? throw new InvalidInputException("XNLI-MT-1.0.zip", "multinli/multinli.train.en.tsv is missing");
        WriteLines(Path.Combine(ctx.Output, "train-en.tsv"),
            Rows(train, 3).Select(c => $"{c[0]}\t{c[1]}\t{NliLabel(c[2])}"));

        string xnli = ctx.Extract(ctx.Input("XNLI-1.0.zip"), n => n.EndsWith(".tsv"));
        foreach (var split in new[] { "dev", "test" })
        {
            string file = Directory.GetFiles(xnli, $"xnli.{split}.tsv", SearchOption.AllDirectories).SingleOrDefault()
                ?? throw new InvalidInputException("XNLI-1.0.zip", $"xnli.{split}.tsv is missing");
            foreach (var group in Rows(file, 8).GroupBy(c => c[0]))
                WriteLines(Path.Combine(ctx.Output, $"{split}-{group.Key}.tsv"),
                    group.Select(c => $"{c[6]}\t{c[7]}\t{NliLabel(c[1])}"));
        }
    }

    static string NliLabel(string label) => label.Trim() == "contradictory" ? "contradiction" : label.Trim();

    // PAWS-X: x-final/{lang}/{train,dev_2k,test_2k}.tsv (header id, sentence1, sentence2, label) ->
    // {split}-{lang}.tsv "s1 \t s2 \t label"; English alone has a training set.
    public static void PawsX(PrepareContext ctx)
    {
        string dir = ctx.Extract(ctx.Input("x-final.tar.gz"));
        string root = Path.Combine(dir, "x-final");
        foreach (var lang in DatasetCatalog.PawsXLanguages)
            foreach (var (split, name) in new[] { ("train", "train"), ("dev", "dev_2k"), ("test", "test_2k") })
            {
                if (split == "train" && lang != "en") continue;
                string file = Path.Combine(root, lang, name + ".tsv");
                if (!File.Exists(file)) throw new InvalidInputException("x-final.tar.gz", $"x-final/{lang}/{name}.tsv is missing");
                WriteLines(Path.Combine(ctx.Output, $"{split}-{lang}.tsv"), Rows(file, 4).Select(c => $"{c[1]}\t{c[2]}\t{c[3]}"));
            }
    }

    // UD-POS: every treebank of a language concatenated per split into {split}-{lang}.tsv, "form \t upos" per word,
    // a blank line after each sentence. v2.5 supplies the XTREME languages, v2.7 the XTREME-R additions.
    // Multiword-token lines (1-2) and empty nodes (1.1) are skipped, so words are UD syntactic words; xtreme instead
    // ran ud-conversion-tools with --replace_subtokens_with_fused_forms, which differs for contractions (de "zum").
    // Like xtreme: sentences made (almost) only of "_" forms are dropped, ZWNJ and spaces inside a form are removed.
    public static void UdPos(PrepareContext ctx)
    {
        foreach (var (archive, langs) in new[] { ("ud-treebanks-v2.5.tgz", DatasetCatalog.UdV25Languages), ("ud-treebanks-v2.7.tgz", DatasetCatalog.UdV27Languages) })
        {
            var wanted = langs.ToHashSet();
            string dir = ctx.Extract(ctx.Input(archive), n => n.EndsWith(".conllu") && wanted.Contains(UdLanguage(n)));
            var files = Directory.GetFiles(dir, "*.conllu", SearchOption.AllDirectories)
                .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal).ToList();
            foreach (var lang in langs)
                foreach (var split in new[] { "train", "dev", "test" })
                {
                    var parts = files.Where(f => UdLanguage(f) == lang && Path.GetFileName(f).EndsWith($"-ud-{split}.conllu")).ToList();
                    if (parts.Count == 0) continue;
                    WriteLines(Path.Combine(ctx.Output, $"{split}-{lang}.tsv"), parts.SelectMany(ReadConllu).SelectMany(SentenceLines));
                }
        }
    }

    static string UdLanguage(string path) => Path.GetFileName(path).Split('_')[0];

    static IEnumerable<string> SentenceLines(List<(string Form, string Tag)> sentence) =>
        sentence.Select(w => $"{w.Form}\t{w.Tag}").Append("");

    internal static IEnumerable<List<(string Form, string Tag)>> ReadConllu(string file)
    {
        var sentence = new List<(string, string)>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(file, Utf8).Append(""))
        {
            lineNo++;
            if (line.Length == 0)
            {
                int empty = sentence.Count(w => w.Item1 == "_");
                if (sentence.Count > 0 && (empty == 0 || empty < sentence.Count - 1)) yield return sentence;
                sentence = [];
                continue;
            }
            if (line.StartsWith('#')) continue;
            var cols = line.Split('\t');
            if (cols.Length != 10) throw InvalidInputException.AtLine(file, lineNo, $"expected 10 tab-separated CoNLL-U columns, found {cols.Length}");
            if (cols[0].Contains('-') || cols[0].Contains('.')) continue;
            string form = cols[1].Replace("\u200c", "").Replace(" ", "");
            sentence.Add((form, cols[3]));
        }
    }

    // PAN-X: AmazonPhotos.zip (flattened like unzip -j) holds {lang}.tar.gz, each with train/dev/test files of
    // "lang:token \t TAG" lines -> {split}-{lang}.tsv "token \t TAG" with the "lang:" prefix removed.
    public static void PanX(PrepareContext ctx)
    {
        string zip = Path.Combine(ctx.TargetDir, "AmazonPhotos.zip");
        string outer = ctx.Extract(zip);
        var tars = Directory.GetFiles(outer, "*.tar.gz", SearchOption.AllDirectories)
            .ToDictionary(f => Path.GetFileName(f)[..^".tar.gz".Length]);
        foreach (var lang in DatasetCatalog.PanXLanguages)
        {
            if (!tars.TryGetValue(lang, out var tar)) { ctx.Log($"panx: {lang}.tar.gz is not in AmazonPhotos.zip, skipped"); continue; }
            string dir = ctx.Extract(tar);
            foreach (var split in new[] { "train", "dev", "test" })
            {
                string file = Path.Combine(dir, split);
                if (!File.Exists(file)) throw new InvalidInputException(tar, $"\"{split}\" is missing");
                WriteLines(Path.Combine(ctx.Output, $"{split}-{lang}.tsv"), PanXLines(file));
            }
        }
    }

    static IEnumerable<string> PanXLines(string file)
    {
        var lines = File.ReadAllLines(file, Utf8).ToList();
        if (lines.Count > 0 && lines[^1].Trim().Length == 0) lines.RemoveAt(lines.Count - 1);
        foreach (var line in lines)
        {
            var items = line.Trim().Split('\t');
            if (items.Length != 2) { yield return ""; continue; }
            int colon = items[0].IndexOf(':');
            if (colon >= 0) yield return $"{items[0][(colon + 1)..].Trim()}\t{items[1].Trim()}";
        }
    }

    // TyDiQA-GoldP: the all-language train file is split by the language in each question id ("english-123" ->
    // tydiqa.goldp.en.train.json, id "123"); dev files tydiqa-goldp-dev-{language}.json become tydiqa.goldp.{iso}.dev.json.
    static readonly Dictionary<string, string> TyDiIso = new()
    {
        ["arabic"] = "ar", ["bengali"] = "bn", ["english"] = "en", ["finnish"] = "fi", ["indonesian"] = "id",
        ["korean"] = "ko", ["russian"] = "ru", ["swahili"] = "sw", ["telugu"] = "te",
    };

    public static void TyDiQa(PrepareContext ctx)
    {
        string trainFile = ctx.Input("tydiqa-goldp-v1.1-train.json");
        string trainDir = Path.Combine(ctx.Output, "tydiqa-goldp-v1.1-train");
        var root = JsonNode.Parse(File.ReadAllText(trainFile, Utf8)) ?? throw new InvalidInputException(trainFile, "empty JSON");
        string version = root["version"]?.ToString() ?? "";
        var byLang = new Dictionary<string, JsonArray>();
        foreach (var doc in root["data"]?.AsArray() ?? throw new InvalidInputException(trainFile, "no \"data\" array"))
            foreach (var par in doc!["paragraphs"]!.AsArray())
                foreach (var qa in par!["qas"]!.AsArray())
                {
                    string id = qa!["id"]!.ToString();
                    string lang = id.Split('-')[0];
                    if (!TyDiIso.ContainsKey(lang)) throw new InvalidInputException(trainFile, $"question id \"{id}\" does not start with a known language");
                    var entry = new JsonObject
                    {
                        ["paragraphs"] = new JsonArray(new JsonObject
                        {
                            ["context"] = par["context"]!.DeepClone(),
                            ["qas"] = new JsonArray(new JsonObject
                            {
                                ["answers"] = qa["answers"]!.DeepClone(),
                                ["question"] = qa["question"]!.DeepClone(),
                                ["id"] = id.Split('-')[^1],
                            }),
                        }),
                    };
                    (byLang.TryGetValue(lang, out var list) ? list : byLang[lang] = []).Add(entry);
                }
        foreach (var (lang, data) in byLang)
            WriteText(Path.Combine(trainDir, $"tydiqa.goldp.{TyDiIso[lang]}.train.json"),
                new JsonObject { ["data"] = data, ["version"] = version }.ToJsonString());
        File.Copy(trainFile, Path.Combine(trainDir, Path.GetFileName(trainFile)), overwrite: true);

        string dev = ctx.Extract(ctx.Input("tydiqa-goldp-v1.1-dev.tgz"));
        string devDir = Path.Combine(ctx.Output, "tydiqa-goldp-v1.1-dev");
        Directory.CreateDirectory(devDir);
        foreach (var (language, iso) in TyDiIso)
        {
            string src = Directory.GetFiles(dev, $"tydiqa-goldp-dev-{language}.json", SearchOption.AllDirectories).SingleOrDefault()
                ?? throw new InvalidInputException("tydiqa-goldp-v1.1-dev.tgz", $"tydiqa-goldp-dev-{language}.json is missing");
            File.Move(src, Path.Combine(devDir, $"tydiqa.goldp.{iso}.dev.json"));
        }
    }

    // BUCC 2018: training-gold archives become the test split and sample-gold the dev split:
    // {lg}-en.{test|dev}.{lg|en|gold}, all in one folder.
    public static void Bucc(PrepareContext ctx)
    {
        Directory.CreateDirectory(ctx.Output);
        foreach (var archive in Directory.GetFiles(ctx.Downloads, "*.tar.bz2").Order())
        {
            string dir = ctx.Extract(archive);
            foreach (var file in Directory.GetFiles(dir, "*", SearchOption.AllDirectories))
            {
                string name = Path.GetFileName(file).Replace(".training.", ".test.").Replace(".sample.", ".dev.");
                File.Move(file, Path.Combine(ctx.Output, name), overwrite: true);
            }
        }
    }

    // Tatoeba (LASER data/tatoeba/v1): tatoeba.{xxx}-eng.{xxx|eng} -> {xx}-en.{xx} and {xx}-en.en, line i of one
    // translating line i of the other (xtreme sorts the English side to hide that alignment; it is kept here).
    static readonly Dictionary<string, string> TatoebaIso = new()
    {
        ["afr"] = "af", ["ara"] = "ar", ["bul"] = "bg", ["ben"] = "bn", ["deu"] = "de", ["ell"] = "el", ["spa"] = "es",
        ["est"] = "et", ["eus"] = "eu", ["pes"] = "fa", ["fin"] = "fi", ["fra"] = "fr", ["heb"] = "he", ["hin"] = "hi",
        ["hun"] = "hu", ["ind"] = "id", ["ita"] = "it", ["jpn"] = "ja", ["jav"] = "jv", ["kat"] = "ka", ["kaz"] = "kk",
        ["kor"] = "ko", ["mal"] = "ml", ["mar"] = "mr", ["nld"] = "nl", ["por"] = "pt", ["rus"] = "ru", ["swh"] = "sw",
        ["tam"] = "ta", ["tel"] = "te", ["tha"] = "th", ["tgl"] = "tl", ["tur"] = "tr", ["urd"] = "ur", ["vie"] = "vi",
        ["cmn"] = "zh", ["aze"] = "az", ["lit"] = "lt", ["pol"] = "pl", ["ukr"] = "uk", ["ron"] = "ro",
    };

    public static void Tatoeba(PrepareContext ctx)
    {
        string archive = Directory.GetFiles(ctx.Downloads).Single();
        string dir = ctx.Extract(archive, n => n.Contains("/data/tatoeba/v1/"));
        var files = Directory.GetFiles(dir, "tatoeba.*", SearchOption.AllDirectories).ToDictionary(f => Path.GetFileName(f), f => f);
        Directory.CreateDirectory(ctx.Output);
        foreach (var (l3, l2) in TatoebaIso)
        {
            if (!files.TryGetValue($"tatoeba.{l3}-eng.{l3}", out var src) || !files.TryGetValue($"tatoeba.{l3}-eng.eng", out var eng))
                throw new InvalidInputException(archive, $"data/tatoeba/v1/tatoeba.{l3}-eng.{{{l3},eng}} is missing");
            File.Copy(src, Path.Combine(ctx.Output, $"{l2}-en.{l2}"), overwrite: true);
            File.Copy(eng, Path.Combine(ctx.Output, $"{l2}-en.en"), overwrite: true);
        }
    }

    // XCOPA: English COPA {train,val,test}.jsonl -> {split}-en.jsonl; {val,test}.{lang}.jsonl -> {split}-{lang}.jsonl.
    public static void Xcopa(PrepareContext ctx)
    {
        string copa = ctx.Extract(ctx.Input("COPA.zip"));
        foreach (var split in new[] { "train", "val", "test" })
        {
            string src = Path.Combine(copa, "COPA", split + ".jsonl");
            if (!File.Exists(src)) throw new InvalidInputException("COPA.zip", $"COPA/{split}.jsonl is missing");
            CopyInto(src, Path.Combine(ctx.Output, $"{split}-en.jsonl"));
        }
        foreach (var lang in DatasetCatalog.XcopaLanguages)
            foreach (var split in new[] { "val", "test" })
                CopyInto(ctx.Input($"{split}.{lang}.jsonl"), Path.Combine(ctx.Output, $"{split}-{lang}.jsonl"));
    }

    // Data rows of a headered TSV, each with at least `columns` fields; a short row is an error naming its line.
    static IEnumerable<string[]> Rows(string file, int columns)
    {
        int lineNo = 0;
        foreach (var line in File.ReadLines(file, Utf8))
        {
            if (lineNo++ == 0 || line.Length == 0) continue;
            var cols = line.TrimEnd('\r', '\n').Split('\t');
            if (cols.Length < columns) throw InvalidInputException.AtLine(file, lineNo, $"expected {columns} tab-separated columns, found {cols.Length}");
            yield return cols.Select(c => c.Trim()).ToArray();
        }
    }

    static void CopyInto(string source, string destination)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        File.Copy(source, destination, overwrite: true);
    }

    static void WriteText(string path, string text) => AtomicFile.WriteAllText(path, text);

    static void WriteLines(string path, IEnumerable<string> lines) => AtomicFile.Write(path, stream =>
    {
        using var writer = new StreamWriter(stream, Utf8, 1 << 16, leaveOpen: true) { NewLine = "\n" };
        foreach (var line in lines) writer.WriteLine(line);
    });
}
