using System.Text.Json;
using Stilts.Cli.Commands;

namespace Stilts.Tests.TextToText;

/// <summary><c>stilts generate</c> on the reference mT5 checkpoint against HF's greedy outputs in vectors.json.</summary>
public sealed class GenerateCommandTests
{
    static readonly string Mt5 = TestPaths.TestVectors("mt5");

    static List<(string Text, int[] Sequence, string Decoded)> Cases()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Mt5, "vectors.json")));
        return [.. doc.RootElement.GetProperty("generate").GetProperty("cases").EnumerateArray().Select(c => (
            c.GetProperty("text").GetString()!,
            c.GetProperty("sequences").EnumerateArray().Select(x => x.GetInt32()).ToArray(),
            c.GetProperty("decoded").GetString()!))];
    }

    static List<(int[] Ids, string Text)> ReadOutput(string path) =>
        [.. File.ReadLines(path).Select(line =>
        {
            using var d = JsonDocument.Parse(line);
            return (d.RootElement.GetProperty("ids").EnumerateArray().Select(x => x.GetInt32()).ToArray(), d.RootElement.GetProperty("text").GetString()!);
        })];

    [Theory]
    [InlineData("inputs.txt", 2)]
    [InlineData("inputs.jsonl", 16)]
    public void BatchedOutputsEqualHfGreedySequencesAndTexts(string inputName, int batchSize)
    {
        var cases = Cases();
        string dir = TestPaths.NewTempDir("generate");
        string input = Path.Combine(dir, inputName), output = Path.Combine(dir, "out.jsonl");
        File.WriteAllLines(input, inputName.EndsWith(".jsonl")
            ? cases.Select(c => JsonSerializer.Serialize(new { id = 1, text = c.Text })).Append("")
            : cases.Select(c => c.Text));

        Assert.Equal(0, GenerateCommand.Run(Mt5, input, maxNewTokens: 8, output, batchSize));

        var got = ReadOutput(output);
        Assert.Equal(cases.Count, got.Count);
        for (int i = 0; i < cases.Count; i++)
        {
            Assert.Equal(cases[i].Sequence, got[i].Ids);
            Assert.Equal(cases[i].Decoded, got[i].Text);
        }
    }

    [Fact]
    public void AllowedFileConstrainsEveryOutputToOneOfItsLines()
    {
        string dir = TestPaths.NewTempDir("generate");
        string input = Path.Combine(dir, "in.txt"), allowed = Path.Combine(dir, "labels.txt"), output = Path.Combine(dir, "out.jsonl");
        File.WriteAllLines(input, Cases().Select(c => c.Text));
        File.WriteAllLines(allowed, ["entailment", "neutral", "", "contradiction"]);
        Assert.Equal(0, GenerateCommand.Run(Mt5, input, maxNewTokens: 20, output, batchSize: 2, allowedPath: allowed));
        var got = ReadOutput(output);
        Assert.Equal(Cases().Count, got.Count);
        Assert.All(got, g => Assert.Contains(g.Text, new[] { "entailment", "neutral", "contradiction" }));
        Assert.All(got, g => Assert.Equal(1, g.Ids[^1]));
    }

    [Fact]
    public void JsonlLineWithoutTextIsAnInputErrorWithExitCode2()
    {
        string dir = TestPaths.NewTempDir("generate");
        string input = Path.Combine(dir, "bad.jsonl"), output = Path.Combine(dir, "out.jsonl");
        File.WriteAllLines(input, ["{\"text\": \"fine\"}", "{\"txt\": \"typo\"}"]);
        var e = Assert.Throws<InvalidInputException>(() => GenerateCommand.ReadInputs(input));
        Assert.Contains("bad.jsonl:2", e.Message);
        Assert.Equal(2, GenerateCommand.Run(Mt5, input, 8, output));
        Assert.False(File.Exists(output));
    }
}
