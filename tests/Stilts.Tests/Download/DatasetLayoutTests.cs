using System.Text.Json.Nodes;
using Stilts.Data.Download;

namespace Stilts.Tests.Download;

/// <summary>Each data set end to end: served from a local mirror, downloaded, unpacked and laid out as the readers expect.</summary>
public class DatasetLayoutTests
{
    static async Task<(string Dir, List<string> Log)> Run(LocalHttpServer server, string dataset, string? dir = null)
    {
        dir ??= TestPaths.NewTempDir();
        var log = new List<string>();
        using var client = new HttpClient();
        var downloader = new DatasetDownloader(client, log.Add, new DownloadOptions { Mirror = server.BaseUri });
        await downloader.DownloadAsync(DatasetCatalog.All[dataset], dir);
        return (dir, log);
    }

    static string Read(string dir, params string[] parts) => File.ReadAllText(Path.Combine([dir, .. parts]));

    static void Serve(LocalHttpServer server, string dataset, int file, byte[] bytes) =>
        server.ServeMirrored(DatasetCatalog.All[dataset].Files[file].Url, bytes);

    [Fact]
    public async Task Xnli_becomes_three_column_files_per_split_and_language()
    {
        using var server = new LocalHttpServer();
        Serve(server, "xnli", 1, Fixtures.Zip(("XNLI-MT-1.0/multinli/multinli.train.en.tsv",
            "premise\thypo\tlabel\nA cat sleeps.\tAn animal rests.\tentailment\nIt rains.\tIt is dry.\tcontradictory\n")));
        const string header = "language\tgold_label\ts1_binary\ts2_binary\ts1_parse\ts2_parse\tsentence1\tsentence2\tpromptID\n";
        Serve(server, "xnli", 0, Fixtures.Zip(
            ("XNLI-1.0/xnli.dev.tsv", header + "de\tneutral\t-\t-\t-\t-\tEin Hund.\tEin Tier.\t1\nen\tcontradiction\t-\t-\t-\t-\tA dog.\tNo dog.\t2\n"),
            ("XNLI-1.0/xnli.test.tsv", header + "en\tentailment\t-\t-\t-\t-\tA bird.\tAn animal.\t3\n")));

        var (dir, _) = await Run(server, "xnli");
        Assert.Equal("A cat sleeps.\tAn animal rests.\tentailment\nIt rains.\tIt is dry.\tcontradiction\n", Read(dir, "xnli", "train-en.tsv"));
        Assert.Equal("Ein Hund.\tEin Tier.\tneutral\n", Read(dir, "xnli", "dev-de.tsv"));
        Assert.Equal("A dog.\tNo dog.\tcontradiction\n", Read(dir, "xnli", "dev-en.tsv"));
        Assert.Equal("A bird.\tAn animal.\tentailment\n", Read(dir, "xnli", "test-en.tsv"));
        Assert.False(Directory.Exists(Path.Combine(dir, ".staging", "xnli")));
        Assert.False(Directory.Exists(Path.Combine(dir, ".downloads", "xnli")));
    }

    [Fact]
    public async Task Pawsx_becomes_split_language_files()
    {
        using var server = new LocalHttpServer();
        var entries = new List<(string, string)> { ("x-final/en/train.tsv", "id\tsentence1\tsentence2\tlabel\n1\tTrain one.\tTrain two.\t1\n") };
        foreach (var lang in DatasetCatalog.PawsXLanguages)
        {
            entries.Add(($"x-final/{lang}/dev_2k.tsv", $"id\tsentence1\tsentence2\tlabel\n7\tDev {lang} a.\tDev {lang} b.\t0\n"));
            entries.Add(($"x-final/{lang}/test_2k.tsv", $"id\tsentence1\tsentence2\tlabel\n8\tTest {lang} a.\tTest {lang} b.\t1\n"));
        }
        Serve(server, "pawsx", 0, Fixtures.TarGz([.. entries]));
        var (dir, _) = await Run(server, "pawsx");
        Assert.Equal("Train one.\tTrain two.\t1\n", Read(dir, "pawsx", "train-en.tsv"));
        Assert.Equal("Dev ja a.\tDev ja b.\t0\n", Read(dir, "pawsx", "dev-ja.tsv"));
        Assert.Equal("Test zh a.\tTest zh b.\t1\n", Read(dir, "pawsx", "test-zh.tsv"));
        Assert.False(File.Exists(Path.Combine(dir, "pawsx", "train-de.tsv")));
    }

    [Fact]
    public async Task Ud_treebanks_become_token_tag_files_per_language()
    {
        using var server = new LocalHttpServer();
        const string enA = "# sent_id = 1\n1\tWe\twe\tPRON\t_\t_\t2\tnsubj\t_\t_\n2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n2\tdo\tdo\tAUX\t_\t_\t0\troot\t_\t_\n3\tn't\tnot\tPART\t_\t_\t2\tadvmod\t_\t_\n\n" +
                           "1\t_\t_\tNOUN\t_\t_\t0\troot\t_\t_\n2\t_\t_\tPUNCT\t_\t_\t1\tpunct\t_\t_\n\n";
        const string enB = "1\tGo\tgo\tVERB\t_\t_\t0\troot\t_\t_\n\n";
        Serve(server, "udpos", 0, Fixtures.TarGz(
            ("ud-treebanks-v2.5/UD_English-B/en_b-ud-train.conllu", enB),
            ("ud-treebanks-v2.5/UD_English-A/en_a-ud-train.conllu", enA),
            ("ud-treebanks-v2.5/UD_German-X/de_x-ud-test.conllu", "1\tzu\u200cm\tzu\tADP\t_\t_\t0\troot\t_\t_\n\n"),
            ("ud-treebanks-v2.5/UD_Foo-Y/xx_y-ud-train.conllu", "1\tno\tno\tX\t_\t_\t0\troot\t_\t_\n\n")));
        Serve(server, "udpos", 1, Fixtures.TarGz(
            ("ud-treebanks-v2.7/UD_Lithuanian-Z/lt_z-ud-dev.conllu", "1\tLabas\tlabas\tINTJ\t_\t_\t0\troot\t_\t_\n\n"),
            ("ud-treebanks-v2.7/UD_English-New/en_new-ud-train.conllu", "1\tSkip\tskip\tVERB\t_\t_\t0\troot\t_\t_\n\n")));

        var (dir, _) = await Run(server, "udpos");
        // Treebanks in file-name order (en_a before en_b); the all-"_" sentence is dropped; syntactic words kept.
        Assert.Equal("We\tPRON\ndo\tAUX\nn't\tPART\n\nGo\tVERB\n\n", Read(dir, "udpos", "train-en.tsv"));
        Assert.Equal("zum\tADP\n\n", Read(dir, "udpos", "test-de.tsv"));
        Assert.Equal("Labas\tINTJ\n\n", Read(dir, "udpos", "dev-lt.tsv"));
        Assert.False(File.Exists(Path.Combine(dir, "udpos", "train-xx.tsv")));
    }

    [Fact]
    public async Task Bucc_archives_become_test_and_dev_files()
    {
        using var server = new LocalHttpServer();
        var files = DatasetCatalog.All["bucc2018"].Files;
        foreach (var file in files)
        {
            string lg = file.Name.Split('-')[1], kind = file.Name.Contains("training") ? "training" : "sample";
            server.ServeMirrored(file.Url, Fixtures.TarBz2(
                ($"bucc2018/{lg}-en/{lg}-en.{kind}.{lg}", $"{lg}-000001\tSatz {kind}\n"),
                ($"bucc2018/{lg}-en/{lg}-en.{kind}.en", $"en-000009\tSentence {kind}\n"),
                ($"bucc2018/{lg}-en/{lg}-en.{kind}.gold", $"{lg}-000001\ten-000009\n")));
        }
        var (dir, _) = await Run(server, "bucc2018");
        Assert.Equal("de-000001\tSatz training\n", Read(dir, "bucc2018", "de-en.test.de"));
        Assert.Equal("en-000009\tSentence sample\n", Read(dir, "bucc2018", "zh-en.dev.en"));
        Assert.Equal("fr-000001\ten-000009\n", Read(dir, "bucc2018", "fr-en.dev.gold"));
        Assert.True(File.Exists(Path.Combine(dir, "bucc2018", "ru-en.test.gold")));
        Assert.Equal(24, Directory.GetFiles(Path.Combine(dir, "bucc2018")).Length);
    }

    [Fact]
    public async Task Tatoeba_files_are_renamed_to_two_letter_codes_and_stay_aligned()
    {
        using var server = new LocalHttpServer();
        string[] l3 = ["afr", "ara", "bul", "ben", "deu", "ell", "spa", "est", "eus", "pes", "fin", "fra", "heb", "hin", "hun", "ind",
            "ita", "jpn", "jav", "kat", "kaz", "kor", "mal", "mar", "nld", "por", "rus", "swh", "tam", "tel", "tha", "tgl", "tur",
            "urd", "vie", "cmn", "aze", "lit", "pol", "ukr", "ron"];
        var entries = l3.SelectMany(l => new[]
        {
            ($"LASER-main/data/tatoeba/v1/tatoeba.{l}-eng.{l}", $"{l} zwei\n{l} eins\n"),
            ($"LASER-main/data/tatoeba/v1/tatoeba.{l}-eng.eng", "two\none\n"),
        }).Append(("LASER-main/README.md", "not needed")).ToArray();
        Serve(server, "tatoeba", 0, Fixtures.Zip(entries));
        var (dir, _) = await Run(server, "tatoeba");
        Assert.Equal("deu zwei\ndeu eins\n", Read(dir, "tatoeba", "de-en.de"));
        Assert.Equal("two\none\n", Read(dir, "tatoeba", "de-en.en"));
        Assert.Equal("cmn zwei\ncmn eins\n", Read(dir, "tatoeba", "zh-en.zh"));
        Assert.Equal(82, Directory.GetFiles(Path.Combine(dir, "tatoeba")).Length);
    }

    [Fact]
    public async Task Tydiqa_train_is_split_by_language_and_dev_files_renamed()
    {
        using var server = new LocalHttpServer();
        var train = new JsonObject
        {
            ["version"] = "TyDiQA-GoldP-1.1-for-SQuAD-1.1",
            ["data"] = new JsonArray(new JsonObject
            {
                ["paragraphs"] = new JsonArray(
                    new JsonObject
                    {
                        ["context"] = "Paris is in France.",
                        ["qas"] = new JsonArray(new JsonObject
                        {
                            ["id"] = "english-111", ["question"] = "Where is Paris?",
                            ["answers"] = new JsonArray(new JsonObject { ["answer_start"] = 12, ["text"] = "France" }),
                        }),
                    },
                    new JsonObject
                    {
                        ["context"] = "Helsinki on Suomessa.",
                        ["qas"] = new JsonArray(new JsonObject
                        {
                            ["id"] = "finnish-222", ["question"] = "Missä Helsinki on?",
                            ["answers"] = new JsonArray(new JsonObject { ["answer_start"] = 12, ["text"] = "Suomessa" }),
                        }),
                    }),
            }),
        };
        Serve(server, "tydiqa", 0, Fixtures.Utf8(train.ToJsonString()));
        string[] languages = ["arabic", "bengali", "english", "finnish", "indonesian", "korean", "russian", "swahili", "telugu"];
        Serve(server, "tydiqa", 1, Fixtures.TarGz([.. languages.Select(l =>
            ($"tydiqa-goldp-v1.1-dev/tydiqa-goldp-dev-{l}.json", $"{{\"version\":\"v\",\"data\":[],\"lang\":\"{l}\"}}"))]));

        var (dir, _) = await Run(server, "tydiqa");
        var en = JsonNode.Parse(Read(dir, "tydiqa", "tydiqa-goldp-v1.1-train", "tydiqa.goldp.en.train.json"))!;
        var qa = en["data"]![0]!["paragraphs"]![0]!["qas"]![0]!;
        Assert.Equal("111", qa["id"]!.ToString());
        Assert.Equal("France", qa["answers"]![0]!["text"]!.ToString());
        Assert.Single(en["data"]!.AsArray());
        Assert.True(File.Exists(Path.Combine(dir, "tydiqa", "tydiqa-goldp-v1.1-train", "tydiqa.goldp.fi.train.json")));
        Assert.True(File.Exists(Path.Combine(dir, "tydiqa", "tydiqa-goldp-v1.1-train", "tydiqa-goldp-v1.1-train.json")));
        Assert.Contains("\"telugu\"", Read(dir, "tydiqa", "tydiqa-goldp-v1.1-dev", "tydiqa.goldp.te.dev.json"));
    }

    [Fact]
    public async Task Panx_without_the_manual_file_explains_where_to_put_it()
    {
        using var server = new LocalHttpServer();
        string dir = TestPaths.NewTempDir();
        var ex = await Assert.ThrowsAsync<InvalidInputException>(() => Run(server, "panx", dir));
        Assert.Contains(Path.Combine(dir, "AmazonPhotos.zip"), ex.Message);
        Assert.Contains(DatasetCatalog.PanXShare, ex.Message);
        Assert.Contains("run this command again", ex.Message);
        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task Panx_from_the_manual_zip_strips_language_prefixes()
    {
        using var server = new LocalHttpServer();
        string dir = TestPaths.NewTempDir();
        byte[] en = Fixtures.TarGz(
            ("train", "en:John\tB-PER\nen:lives\tO\n\nen:Paris\tB-LOC\n\n"),
            ("dev", "en:Mary\tB-PER\n"),
            ("test", "en:Acme\tB-ORG\nen:Inc\tI-ORG\n"));
        File.WriteAllBytes(Path.Combine(dir, "AmazonPhotos.zip"), FixturesZipOfBytes(("panx_dataset/en.tar.gz", en)));
        var (_, log) = await Run(server, "panx", dir);
        Assert.Equal("John\tB-PER\nlives\tO\n\nParis\tB-LOC\n", Read(dir, "panx", "train-en.tsv"));
        Assert.Equal("Acme\tB-ORG\nInc\tI-ORG\n", Read(dir, "panx", "test-en.tsv"));
        Assert.Contains(log, l => l.Contains("de.tar.gz") && l.Contains("skipped"));
    }

    static byte[] FixturesZipOfBytes((string Name, byte[] Bytes) entry)
    {
        using var memory = new MemoryStream();
        using (var zip = new System.IO.Compression.ZipArchive(memory, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            using var s = zip.CreateEntry(entry.Name).Open();
            s.Write(entry.Bytes);
        }
        return memory.ToArray();
    }

    [Fact]
    public async Task Xcopa_files_get_split_language_names()
    {
        using var server = new LocalHttpServer();
        Serve(server, "xcopa", 0, Fixtures.Zip(("COPA/train.jsonl", "{\"idx\":0}\n"), ("COPA/val.jsonl", "{\"idx\":1}\n"), ("COPA/test.jsonl", "{\"idx\":2}\n")));
        foreach (var file in DatasetCatalog.All["xcopa"].Files.Skip(1))
            server.ServeMirrored(file.Url, Fixtures.Utf8($"{{\"file\":\"{file.Name}\"}}\n"));
        var (dir, _) = await Run(server, "xcopa");
        Assert.Equal("{\"idx\":0}\n", Read(dir, "xcopa", "train-en.jsonl"));
        Assert.Equal("{\"file\":\"test.qu.jsonl\"}\n", Read(dir, "xcopa", "test-qu.jsonl"));
        Assert.Equal("{\"file\":\"val.zh.jsonl\"}\n", Read(dir, "xcopa", "val-zh.jsonl"));
    }

    [Fact]
    public async Task Flattened_archive_and_a_catalog_checksum_are_enforced()
    {
        using var server = new LocalHttpServer();
        Serve(server, "qqp", 0, Fixtures.Zip(("QQP/train.tsv", "id\tqid1\n"), ("__MACOSX/junk", "x")));
        var (dir, _) = await Run(server, "qqp");
        Assert.Equal("id\tqid1\n", Read(dir, "qqp", "train.tsv"));
        Assert.False(Directory.Exists(Path.Combine(dir, "qqp", "__MACOSX")));

        // ANLI has a published SHA-256 in the table: a different file is refused and nothing is laid out.
        Serve(server, "anli", 0, Fixtures.Zip(("anli_v1.0/R1/train.jsonl", "{}\n")));
        var ex = await Assert.ThrowsAsync<InvalidInputException>(() => Run(server, "anli", dir));
        Assert.Contains("SHA-256 mismatch", ex.Message);
        Assert.False(Directory.Exists(Path.Combine(dir, "anli")));
    }

    [Fact]
    public void Groups_and_unknown_names_resolve_as_documented()
    {
        Assert.Equal(["xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba", "squad"],
            DatasetCatalog.Resolve("xtreme").Select(d => d.Name));
        Assert.Contains(DatasetCatalog.Resolve("XTREME-R"), d => d.Name == "xcopa");
        var ex = Assert.Throws<InvalidInputException>(() => DatasetCatalog.Resolve("imagenet"));
        Assert.Contains("xtreme-r", ex.Message);
        Assert.All(DatasetCatalog.All.Values.SelectMany(d => d.Files), f => Assert.StartsWith("https://", f.Url));
    }
}
