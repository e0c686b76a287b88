using System.CommandLine;
using Stilts.Checkpoints;
using Stilts.Tokenization;

namespace Stilts.Cli.Commands;

/// <summary>
/// stilts tokenize --model DIR [--input FILE] [--output FILE] [--max-length N] [--no-special-tokens]
/// One JSON object per input: {"ids":[..],"tokens":[..],"offsets":[[start,end],..]}, offsets into the original text.
/// </summary>
public static class TokenizeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "Checkpoint folder holding the tokenizer files", Required = true };
        var input = new Option<FileInfo?>("--input") { Description = "UTF-8 text, one input per line (or .jsonl with text/text_pair); stdin when absent" };
        var output = new Option<FileInfo?>("--output") { Description = "Write JSON lines here (atomically) instead of stdout" };
        var maxLength = new Option<int?>("--max-length") { Description = "Truncate to this many tokens (default: the model's maximum length)" };
        var noSpecial = new Option<bool>("--no-special-tokens") { Description = "Leave out <s>, </s>, [CLS], [SEP] ..." };
        var command = new Command("tokenize", "Tokenize text with a checkpoint's tokenizer") { model, input, output, maxLength, noSpecial };
        command.SetAction(parse => CliCommon.Guard(() =>
        {
            var tokenizer = AutoTokenizer.FromFolder(CheckpointFolder.ResolveDirectory(parse.GetValue(model)!));
            int? max = parse.GetValue(maxLength);
            if (max is <= 0) throw new InvalidInputException("--max-length", $"must be positive, got {max}");
            var options = new EncodeOptions { MaxLength = max, AddSpecialTokens = !parse.GetValue(noSpecial) };
            var inputs = CliCommon.ReadInputs(parse.GetValue(input));
            CliCommon.WriteLines(parse.GetValue(output), emit =>
            {
                foreach (var (text, pair) in inputs)
                {
                    var e = tokenizer.Encode(text, pair, options);
                    emit(w =>
                    {
                        w.WriteStartObject();
                        w.WriteStartArray("ids");
                        foreach (int id in e.Ids) w.WriteNumberValue(id);
                        w.WriteEndArray();
                        w.WriteStartArray("tokens");
                        foreach (string t in e.Tokens) w.WriteStringValue(t);
                        w.WriteEndArray();
                        w.WriteStartArray("offsets");
                        foreach (var (s, end) in e.Offsets) { w.WriteStartArray(); w.WriteNumberValue(s); w.WriteNumberValue(end); w.WriteEndArray(); }
                        w.WriteEndArray();
                        w.WriteEndObject();
                    });
                }
            });
            return 0;
        }));
        return command;
    }
}
