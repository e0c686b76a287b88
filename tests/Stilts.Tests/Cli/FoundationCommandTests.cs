using System.Text.Json;

namespace Stilts.Tests.Cli;

// The foundation verbs as a user runs them: info, tokenize and encode against the reference checkpoints.
public sealed class FoundationCommandTests
{
    public static TheoryData<string> Families => new() { "xlm-roberta", "bert" };

    static JsonElement Vectors(string family) => JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.TestVectors(family), "vectors.json"))).RootElement;

    [Theory]
    [MemberData(nameof(Families))]
    public void TokenizeMatchesTheReferenceIdsAndOffsetsSliceTheInput(string family)
    {
        var cases = Vectors(family).GetProperty("tokenization").GetProperty("cases").EnumerateArray().ToList();
        string dir = TestPaths.NewTempDir("cli-tok");
        string input = Path.Combine(dir, "in.jsonl");
        File.WriteAllLines(input, cases.Select(c => JsonSerializer.Serialize(new Dictionary<string, string?>
        {
            ["text"] = c.GetProperty("text").GetString(),
            ["text_pair"] = c.TryGetProperty("text_pair", out var p) ? p.GetString() : null,
        })));
        var (exit, stdout, stderr) = CliProcess.Run("tokenize", "--model", TestPaths.TestVectors(family), "--input", input);
        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(cases.Count, lines.Length);
        for (int i = 0; i < cases.Count; i++)
        {
            using var got = JsonDocument.Parse(lines[i]);
            var ids = got.RootElement.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray();
            Assert.Equal(cases[i].GetProperty("input_ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(), ids);
            Assert.Equal(ids.Length, got.RootElement.GetProperty("tokens").GetArrayLength());
            string text = cases[i].GetProperty("text").GetString()!;
            if (cases[i].TryGetProperty("text_pair", out _)) continue; // pair offsets index the second text
            foreach (var o in got.RootElement.GetProperty("offsets").EnumerateArray())
            {
                int s = o[0].GetInt32(), e = o[1].GetInt32();
                Assert.InRange(s, 0, text.Length);
                Assert.InRange(e, s, text.Length);
            }
        }
    }

    [Fact]
    public void TokenizeReadsStdinAndHonoursMaxLengthAndNoSpecialTokens()
    {
        var (exit, stdout, stderr) = CliProcess.RunWithInput("Hello world, this is longer than five tokens\n\n", "tokenize", "--model", TestPaths.TestVectors("xlm-roberta"), "--max-length", "5");
        Assert.True(exit == 0, stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, lines.Count); // the empty line is the empty string: <s></s>
        Assert.Equal(5, lines[0].GetProperty("ids").GetArrayLength());
        Assert.Equal(0, lines[0].GetProperty("ids")[0].GetInt32());
        Assert.Equal(2, lines[0].GetProperty("ids")[4].GetInt32());
        Assert.Equal([0, 2], lines[1].GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()));

        (exit, stdout, _) = CliProcess.RunWithInput("Hello\n", "tokenize", "--model", TestPaths.TestVectors("xlm-roberta"), "--no-special-tokens");
        Assert.Equal(0, exit);
        var plain = JsonDocument.Parse(stdout).RootElement;
        Assert.DoesNotContain(0, plain.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()));
        var off = plain.GetProperty("offsets")[0];
        Assert.Equal("Hello"[off[0].GetInt32()..off[1].GetInt32()], "Hello"[..off[1].GetInt32()]);
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void EncodeMatchesReferenceHiddenStatesAllLayersAndPooler(string family)
    {
        var baseModel = Vectors(family).GetProperty("base_model");
        var cases = baseModel.GetProperty("cases").EnumerateArray().ToList();
        var withLayers = baseModel.GetProperty("hidden_states_for").EnumerateArray().Select(x => x.GetInt32()).ToHashSet();
        string dir = TestPaths.NewTempDir("cli-enc");
        string input = Path.Combine(dir, "in.jsonl"), output = Path.Combine(dir, "out.jsonl");
        // .jsonl input: some reference texts hold newlines, which plain-text input would split.
        File.WriteAllLines(input, cases.Select(c => JsonSerializer.Serialize(new { text = c.GetProperty("text").GetString() })));
        var (exit, _, stderr) = CliProcess.Run("encode", "--model", TestPaths.TestVectors(family), "--input", input, "--output", output, "--all-layers");
        Assert.True(exit == 0, stderr);
        var lines = File.ReadAllLines(output);
        Assert.Equal(cases.Count, lines.Length);
        for (int i = 0; i < cases.Count; i++)
        {
            var got = JsonDocument.Parse(lines[i]).RootElement;
            Assert.Equal(cases[i].GetProperty("input_ids").EnumerateArray().Select(x => x.GetInt32()), got.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()));
            AssertClose(cases[i].GetProperty("last_hidden_state"), got.GetProperty("last_hidden_state"));
            AssertClose(cases[i].GetProperty("pooler_output"), got.GetProperty("pooler_output"));
            if (withLayers.Contains(i)) AssertClose(cases[i].GetProperty("hidden_states"), got.GetProperty("hidden_states"));
        }
    }

    [Fact]
    public void EncodeWritesMt5EncoderStates()
    {
        var enc = Vectors("mt5").GetProperty("encoder");
        var first = enc.GetProperty("cases")[0];
        string dir = TestPaths.NewTempDir("cli-mt5");
        string input = Path.Combine(dir, "in.jsonl"), output = Path.Combine(dir, "out.jsonl");
        File.WriteAllText(input, JsonSerializer.Serialize(new { text = first.GetProperty("text").GetString() }) + "\n");
        var (exit, _, stderr) = CliProcess.Run("encode", "--model", TestPaths.TestVectors("mt5"), "--input", input, "--output", output);
        Assert.True(exit == 0, stderr);
        var got = JsonDocument.Parse(File.ReadAllLines(output).Single()).RootElement;
        Assert.Equal(first.GetProperty("input_ids").EnumerateArray().Select(x => x.GetInt32()), got.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()));
        AssertClose(first.GetProperty("last_hidden_state"), got.GetProperty("last_hidden_state"));
        Assert.False(got.TryGetProperty("pooler_output", out _));
    }

    [Fact]
    public void InfoDescribesTheCheckpoint()
    {
        var (exit, stdout, stderr) = CliProcess.Run("info", "--model", TestPaths.TestVectors("bert"), "--json");
        Assert.True(exit == 0, stderr);
        var info = JsonDocument.Parse(stdout).RootElement;
        var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestPaths.TestVectors("bert"), "config.json"))).RootElement;
        Assert.Equal("bert", info.GetProperty("family").GetString());
        Assert.Equal(config.GetProperty("num_hidden_layers").GetInt32(), info.GetProperty("layers").GetInt32());
        Assert.Equal(config.GetProperty("hidden_size").GetInt32(), info.GetProperty("hidden_size").GetInt32());
        Assert.Equal(config.GetProperty("vocab_size").GetInt32(), info.GetProperty("vocab_size").GetInt32());
        Assert.Equal("BertWordPiece", info.GetProperty("tokenizer").GetString());
        // parameters = every stored tensor's element count (BERT has no tied duplicates in its safetensors)
        var (entries, _) = Stilts.Checkpoints.SafeTensors.ReadIndex(Path.Combine(TestPaths.TestVectors("bert"), "model.safetensors"));
        Assert.Equal(entries.Where(e => !e.Name.EndsWith("position_ids")).Sum(e => e.Shape.Aggregate(1L, (a, b) => a * b)), info.GetProperty("parameters").GetInt64());
    }

    [Fact]
    public void BadInputExitsTwoNamingTheProblem()
    {
        string dir = TestPaths.NewTempDir("cli-bad");
        var (exit, _, stderr) = CliProcess.Run("info", "--model", Path.Combine(dir, "nope"));
        Assert.Equal(2, exit);
        Assert.Contains("nope", stderr);

        File.WriteAllText(Path.Combine(dir, "config.json"), """{"model_type": "bert", "hidden_size": 32}""");
        foreach (var f in new[] { "model.safetensors", "vocab.txt", "tokenizer_config.json" })
            File.Copy(Path.Combine(TestPaths.TestVectors("bert"), f), Path.Combine(dir, f));
        (exit, _, stderr) = CliProcess.Run("encode", "--model", dir, "--output", Path.Combine(dir, "o.jsonl"));
        Assert.Equal(2, exit);
        Assert.Contains("config.json: vocab_size", stderr);
        Assert.False(File.Exists(Path.Combine(dir, "o.jsonl")));

        string bad = Path.Combine(dir, "in.jsonl");
        File.WriteAllText(bad, "{\"text\": \"ok\"}\n{\"txt\": 1}\n");
        (exit, _, stderr) = CliProcess.Run("tokenize", "--model", TestPaths.TestVectors("bert"), "--input", bad);
        Assert.Equal(2, exit);
        Assert.Contains("in.jsonl:2", stderr);
    }

    static void AssertClose(JsonElement expected, JsonElement actual)
    {
        var e = Flatten(expected).ToList();
        var a = Flatten(actual).ToList();
        Assert.Equal(e.Count, a.Count);
        for (int i = 0; i < e.Count; i++)
            Assert.True(Math.Abs(a[i] - e[i]) <= 1e-4 + 1e-4 * Math.Abs(e[i]), $"element {i}: {a[i]} vs {e[i]}");
    }

    static IEnumerable<double> Flatten(JsonElement x) =>
        x.ValueKind == JsonValueKind.Array ? x.EnumerateArray().SelectMany(Flatten) : [x.GetDouble()];
}
