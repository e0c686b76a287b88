using System.CommandLine;
using System.Text.Json;
using Stilts.Models;

namespace Stilts.Cli.Commands;

/// <summary>stilts info --model DIR: family, layers, hidden size, parameters, vocabulary and tokenizer of a checkpoint.</summary>
public static class InfoCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "HF checkpoint folder (or HF cache folder)", Required = true };
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of aligned text" };
        var command = new Command("info", "Describe a pretrained checkpoint folder") { model, json };
        command.SetAction(parse => CliCommon.Guard(() =>
        {
            var info = Pretrained.Info(parse.GetValue(model)!);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    directory = info.Directory, model_type = info.ModelType, family = info.Family.ToString().ToLowerInvariant(),
                    layers = info.Layers, hidden_size = info.HiddenSize, heads = info.Heads, parameters = info.Parameters,
                    vocab_size = info.VocabSize, tokenizer = info.TokenizerKind, weights = info.WeightsFile,
                }));
                return 0;
            }
            Console.WriteLine($"directory   {info.Directory}");
            Console.WriteLine($"model_type  {info.ModelType} (family {info.Family})");
            Console.WriteLine($"layers      {info.Layers}");
            Console.WriteLine($"hidden      {info.HiddenSize} ({info.Heads} heads)");
            Console.WriteLine($"parameters  {info.Parameters:N0}");
            Console.WriteLine($"vocab       {info.VocabSize:N0}");
            Console.WriteLine($"tokenizer   {info.TokenizerKind ?? "none found"}");
            Console.WriteLine($"weights     {info.WeightsFile}");
            return 0;
        }));
        return command;
    }
}
