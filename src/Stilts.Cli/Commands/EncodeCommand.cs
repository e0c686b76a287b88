using System.CommandLine;
using System.Text.Json;
using Stilts.Checkpoints;
using Stilts.Models;
using Stilts.Tokenization;
using static TorchSharp.torch;

namespace Stilts.Cli.Commands;

/// <summary>
/// stilts encode --model DIR [--input FILE] --output FILE [--all-layers] [--device ..] [--bf16]
/// One JSON object per input: {"ids", "last_hidden_state" [T][H], "hidden_states" [L+1][T][H] (with --all-layers),
/// "pooler_output" [H] (where the model has a pooler)}. Each input runs alone (batch 1, no padding). For T5/mT5
/// checkpoints the states are the encoder's.
/// </summary>
public static class EncodeCommand
{
    public static Command Create()
    {
        var model = new Option<string>("--model") { Description = "HF checkpoint folder", Required = true };
        var input = new Option<FileInfo?>("--input") { Description = "UTF-8 text, one input per line (or .jsonl with text/text_pair); stdin when absent" };
        var output = new Option<FileInfo>("--output") { Description = "JSON lines file to write (atomically)", Required = true };
        var allLayers = new Option<bool>("--all-layers") { Description = "Also write the embeddings output and every layer's output" };
        var device = CliCommon.DeviceOption();
        var bf16 = CliCommon.Bf16Option();
        var command = new Command("encode", "Run a pretrained encoder and write its hidden states") { model, input, output, allLayers, device, bf16 };
        command.SetAction(parse => CliCommon.Guard(() =>
        {
            string dir = CheckpointFolder.Resolve(parse.GetValue(model)!).Directory;
            var tokenizer = AutoTokenizer.FromFolder(dir);
            var precision = parse.GetValue(bf16) ? Precision.BFloat16 : Precision.Float32;
            bool all = parse.GetValue(allLayers);
            Func<long[], int[], (Tensor Last, IReadOnlyList<Tensor>? Hidden, Tensor? Pooler)> run = Pretrained.FamilyOf(dir) == ModelFamily.T5
                ? T5Runner(dir, parse.GetValue(device), precision, all)
                : EncoderRunner(dir, parse.GetValue(device), precision, all);
            var inputs = CliCommon.ReadInputs(parse.GetValue(input));
            using var noGrad = no_grad();
            CliCommon.WriteLines(parse.GetValue(output)!, emit =>
            {
                foreach (var (text, pair) in inputs)
                {
                    var e = tokenizer.Encode(text, pair);
                    using var scope = NewDisposeScope();
                    var (last, hidden, pooler) = run(e.Ids.Select(i => (long)i).ToArray(), e.TypeIds);
                    emit(w =>
                    {
                        w.WriteStartObject();
                        w.WriteStartArray("ids");
                        foreach (int id in e.Ids) w.WriteNumberValue(id);
                        w.WriteEndArray();
                        w.WritePropertyName("last_hidden_state");
                        WriteTensor(w, last[0]);
                        if (hidden != null)
                        {
                            w.WriteStartArray("hidden_states");
                            foreach (var h in hidden) WriteTensor(w, h[0]);
                            w.WriteEndArray();
                        }
                        if (pooler is not null)
                        {
                            w.WritePropertyName("pooler_output");
                            WriteTensor(w, pooler[0]);
                        }
                        w.WriteEndObject();
                    });
                }
            });
            return 0;
        }));
        return command;
    }

    static Func<long[], int[], (Tensor, IReadOnlyList<Tensor>?, Tensor?)> EncoderRunner(string dir, DeviceChoice device, Precision precision, bool all)
    {
        var (encoder, _) = Pretrained.LoadEncoder(dir, device, precision);
        var dev = Placement.Resolve(device);
        return (ids, typeIds) =>
        {
            var inputIds = tensor(ids, [1, ids.Length], ScalarType.Int64, dev);
            var mask = ones([1, ids.Length], ScalarType.Int64, dev);
            var types = tensor(typeIds.Select(t => (long)t).ToArray(), [1, ids.Length], ScalarType.Int64, dev);
            var output = encoder.call(new EncoderInput(inputIds, mask, types) { OutputHiddenStates = all });
            return (output.LastHiddenState, output.HiddenStates, output.PoolerOutput);
        };
    }

    static Func<long[], int[], (Tensor, IReadOnlyList<Tensor>?, Tensor?)> T5Runner(string dir, DeviceChoice choice, Precision precision, bool all)
    {
        var model = T5EncoderModel.FromPretrained(dir).Place(choice, precision);
        var device = Placement.Resolve(choice);
        return (ids, _) =>
        {
            var inputIds = tensor(ids, [1, ids.Length], ScalarType.Int64, device);
            var output = model.EncodeStates(inputIds, null, all);
            return (output.LastHiddenState, output.HiddenStates, null);
        };
    }

    // Nested arrays of float32 values, written with the shortest text that round-trips.
    static void WriteTensor(Utf8JsonWriter w, Tensor t)
    {
        using var cpu = t.to(ScalarType.Float32).cpu().contiguous();
        float[] data = cpu.data<float>().ToArray();
        long[] shape = cpu.shape;
        int at = 0;
        void Write(int dim)
        {
            w.WriteStartArray();
            for (long i = 0; i < shape[dim]; i++)
            {
                if (dim == shape.Length - 1) w.WriteNumberValue(data[at++]);
                else Write(dim + 1);
            }
            w.WriteEndArray();
        }
        Write(0);
    }
}
