using System.CommandLine;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Stilts.Inference;
using Stilts.Models;
using Stilts.Tokenization;

namespace Stilts.Cli.Commands;

/// <summary>
/// stilts generate --model DIR [--input FILE] [--max-new-tokens N] [--output FILE]: greedy generation with a
/// T5/mT5 checkpoint, one JSON object {"ids":[..],"text":".."} per input line; --allowed FILE restricts outputs
/// to that file's lines (label-constrained decoding).
/// </summary>
public static class GenerateCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "HF T5/mT5 checkpoint folder (config.json, model.safetensors, spiece.model)", Required = true };
        var input = new Option<string?>("--input") { Description = "Input texts: plain text, one per line, or .jsonl with {\"text\": ...} (default: stdin)" };
        var maxNew = new Option<int>("--max-new-tokens") { Description = "Most tokens generated per input", DefaultValueFactory = _ => 20 };
        var output = new Option<string?>("--output") { Description = "Write the JSON lines here (default: stdout)" };
        var batch = new Option<int>("--batch-size") { Description = "Inputs per generate call", DefaultValueFactory = _ => 16 };
        var device = new Option<DeviceChoice>("--device") { Description = "cpu, cuda or auto", DefaultValueFactory = _ => DeviceChoice.Cpu };
        var allowed = new Option<string?>("--allowed") { Description = "Constrain every output to one of this file's lines (e.g. a task's label words)" };
        var command = new Command("generate", "Greedy generation with a T5/mT5 checkpoint") { model, input, maxNew, output, batch, device, allowed };
        command.SetAction(parse => Run(parse.GetValue(model)!, parse.GetValue(input), parse.GetValue(maxNew), parse.GetValue(output),
            parse.GetValue(batch), parse.GetValue(device), parse.GetValue(allowed)));
        return command;
    }

    public static int Run(string modelDir, string? inputPath, int maxNewTokens, string? outputPath, int batchSize = 16,
        DeviceChoice device = DeviceChoice.Cpu, string? allowedPath = null)
    {
        return CliCommon.Guard(() =>
        {
            if (maxNewTokens < 0) throw new InvalidInputException("--max-new-tokens", $"expected a non-negative number, got {maxNewTokens}");
            if (batchSize < 1) throw new InvalidInputException("--batch-size", $"expected a positive number, got {batchSize}");
            var texts = ReadInputs(inputPath);
            var tokenizer = AutoTokenizer.FromFolder(modelDir);
            using var model = T5ForConditionalGeneration.FromPretrained(modelDir).Place(device);
            SequenceTrie? allowed = null;
            if (allowedPath is not null)
            {
                if (!File.Exists(allowedPath)) throw new InvalidInputException(allowedPath, "allowed-outputs file not found");
                var lines = File.ReadLines(allowedPath).Where(l => l.Trim().Length > 0).ToList();
                if (lines.Count == 0) throw new InvalidInputException(allowedPath, "expected at least one allowed output, one per line");
                allowed = SequenceTrie.Create(lines.Select(l => (IReadOnlyList<int>)tokenizer.Encode(l.Trim()).Ids));
            }
            var results = texts.Count == 0 ? [] : TextGeneration.Generate(model, tokenizer, texts, maxNewTokens, batchSize, Placement.Resolve(device), allowed);
            var sb = new StringBuilder();
            foreach (var r in results) sb.Append(ToJsonLine(r)).Append('\n');
            if (outputPath is null) Console.Out.Write(sb.ToString());
            else AtomicFile.WriteAllText(outputPath, sb.ToString());
            return 0;
        });
    }

    static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string ToJsonLine(GeneratedText r) =>
        new JsonObject { ["ids"] = new JsonArray([.. r.Ids.Select(i => JsonValue.Create(i))]), ["text"] = r.Text }.ToJsonString(Json);

    /// <summary>
    /// The input texts: a .jsonl file's "text" fields (blank lines skipped; a line without a string "text" is an
    /// error naming it), else every line of a plain text file or of stdin (blank lines kept, so outputs stay aligned).
    /// </summary>
    public static List<string> ReadInputs(string? path)
    {
        if (path is null)
        {
            var lines = new List<string>();
            for (string? line; (line = Console.In.ReadLine()) != null;) lines.Add(line);
            return lines;
        }
        if (!File.Exists(path)) throw new InvalidInputException(path, "input file not found");
        if (!path.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase)) return [.. File.ReadLines(path)];
        var texts = new List<string>();
        int n = 0;
        foreach (var line in File.ReadLines(path))
        {
            n++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            JsonNode? node;
            try { node = JsonNode.Parse(line); }
            catch (JsonException e) { throw new InvalidInputException($"{path}:{n}", $"malformed JSON: {e.Message}", e); }
            if (node is not JsonObject o || o["text"] is not JsonValue v || !v.TryGetValue<string>(out var text))
                throw new InvalidInputException($"{path}:{n}", "expected an object with a string \"text\" field");
            texts.Add(text);
        }
        return texts;
    }
}
