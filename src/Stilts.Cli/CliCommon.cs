using System.CommandLine;
using System.Text;
using System.Text.Json;
using Stilts.Models;

namespace Stilts.Cli;

/// <summary>Options, input reading and error handling shared by the verbs.</summary>
static class CliCommon
{
    public static Option<DeviceChoice> DeviceOption() => new("--device")
    {
        Description = "cpu, cuda or auto (cuda when libtorch finds a GPU)",
        DefaultValueFactory = _ => DeviceChoice.Cpu,
        CustomParser = r => Enum.TryParse<DeviceChoice>(r.Tokens.Single().Value, ignoreCase: true, out var d) ? d
            : throw new InvalidInputException("--device", $"'{r.Tokens.Single().Value}' is not one of cpu, cuda, auto"),
    };

    public static Option<bool> Bf16Option() => new("--bf16") { Description = "Run in bfloat16 (default float32)" };

    /// <summary>
    /// Inputs one per line from a file or stdin, UTF-8. A file ending in .jsonl holds {"text": .., "text_pair": ..}
    /// objects (text_pair optional); otherwise each line is one text and an empty line is the empty string.
    /// </summary>
    public static IEnumerable<(string Text, string? Pair)> ReadInputs(FileInfo? input)
    {
        if (input != null && !input.Exists) throw new InvalidInputException(input.FullName, "input file not found");
        string name = input?.FullName ?? "<stdin>";
        bool jsonl = input?.Name.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) == true;
        using var reader = input == null ? new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false)) : new StreamReader(input.FullName, new UTF8Encoding(false));
        int lineNo = 0;
        for (string? line; (line = reader.ReadLine()) != null;)
        {
            lineNo++;
            if (!jsonl) { yield return (line, null); continue; }
            if (string.IsNullOrWhiteSpace(line)) continue;
            yield return ParseJsonLine(line, name, lineNo);
        }
    }

    static (string, string?) ParseJsonLine(string line, string file, int lineNo)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind != JsonValueKind.Object) throw InvalidInputException.AtLine(file, lineNo, "expected a JSON object {\"text\": ..}");
            if (!doc.RootElement.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                throw InvalidInputException.AtLine(file, lineNo, "expected a string field \"text\"");
            string? pair = null;
            if (doc.RootElement.TryGetProperty("text_pair", out var p) && p.ValueKind != JsonValueKind.Null)
                pair = p.ValueKind == JsonValueKind.String ? p.GetString() : throw InvalidInputException.AtLine(file, lineNo, "\"text_pair\" must be a string");
            return (text.GetString()!, pair);
        }
        catch (JsonException e) { throw InvalidInputException.AtLine(file, lineNo, $"not valid JSON: {e.Message}"); }
    }

    /// <summary>Writes JSON lines to a file (atomically) or to stdout.</summary>
    public static void WriteLines(FileInfo? output, Action<Action<Action<Utf8JsonWriter>>> produce)
    {
        void To(Stream stream)
        {
            var options = new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
            produce(write =>
            {
                using (var w = new Utf8JsonWriter(stream, options)) write(w);
                stream.WriteByte((byte)'\n');
            });
        }
        if (output == null)
        {
            using var stdout = Console.OpenStandardOutput();
            using var buffered = new BufferedStream(stdout, 1 << 16);
            To(buffered);
        }
        else AtomicFile.Write(output.FullName, To);
    }

    /// <summary>
    /// Runs a verb's body: bad input prints its message and exits 2; a diverged training run (NaN/Inf loss, last
    /// good checkpoint kept) exits 3; anything else is a bug and surfaces as one (exit 1).
    /// </summary>
    public static int Guard(Func<int> body)
    {
        try { return body(); }
        catch (Exception e) when (ExitCode(e) is int code) { return Fail(e, code); }
    }

    /// <summary><see cref="Guard(Func{int})"/> for asynchronous verbs.</summary>
    public static async Task<int> Guard(Func<Task<int>> body)
    {
        try { return await body(); }
        catch (Exception e) when (ExitCode(e) is int code) { return Fail(e, code); }
    }

    /// <summary>Prints an error the user can act on; verbs that go on after one (a group download) use it too.</summary>
    public static int Fail(Exception e, int code = 2)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return code;
    }

    static int? ExitCode(Exception e) => e switch
    {
        InvalidInputException => 2,
        Pipeline.TrainingDivergedException => 3,
        _ => null,
    };

    /// <summary>A comma-separated list of positive integers ("1,8,32"); anything else is bad input naming the option.</summary>
    public static int[] PositiveInts(string option, string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], out values[i]) || values[i] < 1)
                throw new InvalidInputException(option, $"expected comma-separated positive integers, got \"{text}\"");
        if (values.Length == 0) throw new InvalidInputException(option, "expected at least one value");
        return values;
    }
}
