using System.Text;
using Stilts.Tokenization;

namespace Stilts.Bench;

public static partial class Sections
{
    internal const string DefaultSpmModel = "/work/shared/testvectors/xlm-roberta/sentencepiece.bpe.model";

    /// <summary>
    /// Stilts' XLM-R tokenizer against sentencepiece's C++ spm_encode on the same generated corpus, one thread each.
    /// Both sides do the same work: read the corpus file, encode every line, write one line of ids per input line.
    /// The ids are compared first (spm id + 1 = fairseq id, spm's unk 0 = fairseq 3).
    /// </summary>
    static IEnumerable<BenchRow> Tokenization(BenchContext ctx)
    {
        const string section = "Tokenization";
        string model = ctx.SpmModel ?? DefaultSpmModel;
        if (!File.Exists(model))
        {
            yield return new BenchRow(section, "XLM-R tokenizer vs spm_encode", "not run", ">= 1.5x spm_encode lines/s", null,
                $"no sentencepiece model at {model} (give one with --spm-model)");
            yield break;
        }
        int lines = ctx.Smoke ? 2_000 : 100_000;
        string dir = ctx.TempDir("tokenization");
        string corpus = Path.Combine(dir, "corpus.txt");
        File.WriteAllLines(corpus, MultilingualCorpus.Generate(lines), new UTF8Encoding(false));
        long bytes = new FileInfo(corpus).Length;
        var tokenizer = XlmRobertaTokenizer.Create(model);
        string? spm = FindOnPath("spm_encode");

        string oursOut = Path.Combine(dir, "stilts.ids"), spmOut = Path.Combine(dir, "spm.ids");
        void Ours() => EncodeFile(tokenizer, corpus, oursOut);
        void Spm()
        {
            var (code, _, err) = Harness.Run(spm!, ["--model", model, "--output_format=id", "--input", corpus, "--output", spmOut]);
            if (code != 0) throw new InvalidOperationException($"spm_encode exited {code}: {err.Trim()}");
        }

        if (spm is null)
        {
            var alone = Harness.Measure(Ours, warmup: 1, repeats: ctx.Smoke ? 1 : 3);
            yield return new BenchRow(section, $"Stilts XLM-R tokenizer, {lines:N0} lines ({bytes / 1e6:0.0} MB), 1 thread",
                $"{Program.F(lines / alone.MedianSeconds, "N0")} lines/s", "", null, "");
            yield return new BenchRow(section, "spm_encode (sentencepiece C++)", "not installed", ">= 1.5x spm_encode lines/s", null,
                "apt-get install sentencepiece to compare");
            yield break;
        }

        // Parity first: a speed claim about different output would mean nothing.
        Ours();
        Spm();
        var (checkedLines, mismatches, firstMismatch) = CompareIds(oursOut, spmOut, corpus);
        yield return new BenchRow(section, "ids identical to spm_encode (spm id + 1, unk -> 3)",
            $"{checkedLines - mismatches:N0} / {checkedLines:N0} lines", "all lines", mismatches == 0, firstMismatch ?? "");

        var t = Harness.Interleaved([Ours, Spm], warmup: ctx.Smoke ? 0 : 1, repeats: ctx.Smoke ? 1 : 5);
        double oursRate = lines / t[0].MedianSeconds, spmRate = lines / t[1].MedianSeconds;
        yield return new BenchRow(section, $"Stilts XLM-R tokenizer, {lines:N0} lines ({bytes / 1e6:0.0} MB), 1 thread",
            $"{Program.F(oursRate, "N0")} lines/s ({Program.F(bytes / 1e6 / t[0].MedianSeconds, "0.0")} MB/s)", "", null,
            $"median of {t[0].Repeats}, min-max {Program.F(t[0].MinSeconds, "0.00")}-{Program.F(t[0].MaxSeconds, "0.00")} s; file in, ids out");
        yield return new BenchRow(section, "spm_encode (sentencepiece C++), same file, 1 thread",
            $"{Program.F(spmRate, "N0")} lines/s ({Program.F(bytes / 1e6 / t[1].MedianSeconds, "0.0")} MB/s)", "", null,
            $"median of {t[1].Repeats}, min-max {Program.F(t[1].MinSeconds, "0.00")}-{Program.F(t[1].MaxSeconds, "0.00")} s; includes its process start (~0.04 s)");
        double ratio = oursRate / spmRate;
        yield return new BenchRow(section, "ratio Stilts / spm_encode", $"{Program.F(ratio, "0.00")}x", ">= 1.5x", ratio >= 1.5,
            "interleaved in one run");
    }

    static void EncodeFile(TextTokenizer tokenizer, string input, string output)
    {
        // Text in, ids out: the ids-only path (what featurizing a corpus needs), ids formatted into one reused buffer.
        using var writer = new StreamWriter(output, false, new UTF8Encoding(false), 1 << 16);
        Span<char> buffer = stackalloc char[16];
        foreach (var line in File.ReadLines(input))
        {
            var ids = tokenizer.TokenizeIds(line);
            for (int i = 0; i < ids.Length; i++)
            {
                if (i > 0) writer.Write(' ');
                ids[i].TryFormat(buffer, out int written, provider: System.Globalization.CultureInfo.InvariantCulture);
                writer.Write(buffer[..written]);
            }
            writer.Write('\n');
        }
    }

    static (int Lines, int Mismatches, string? First) CompareIds(string oursPath, string spmPath, string corpusPath)
    {
        var text = File.ReadAllLines(corpusPath);
        var ours = File.ReadAllLines(oursPath);
        var spm = File.ReadAllLines(spmPath);
        if (ours.Length != spm.Length) return (Math.Max(ours.Length, spm.Length), Math.Max(ours.Length, spm.Length), $"line counts differ: {ours.Length} vs {spm.Length}");
        int bad = 0;
        string? first = null;
        for (int i = 0; i < ours.Length; i++)
        {
            string mapped = string.Join(' ', spm[i].Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Select(s => int.Parse(s) is var id && id == 0 ? 3 : id + 1));
            if (mapped == ours[i]) continue;
            bad++;
            if (first != null) continue;
            var a = ours[i].Split(' '); var b = mapped.Split(' ');
            int at = 0;
            while (at < Math.Min(a.Length, b.Length) && a[at] == b[at]) at++;
            first = $"first mismatch at line {i + 1}, token {at}: ours [{string.Join(' ', a.Skip(Math.Max(0, at - 2)).Take(6))}] " +
                    $"spm+1 [{string.Join(' ', b.Skip(Math.Max(0, at - 2)).Take(6))}] in \"{Shorten(text[i].Replace("|", "\\|"))}\"";
        }
        return (ours.Length, bad, first);
    }

    static string Shorten(string s) => s.Length <= 160 ? s : s[..160] + "…";

    internal static string? FindOnPath(string exe)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin"))
        {
            string p = Path.Combine(dir, exe);
            if (File.Exists(p)) return p;
        }
        return null;
    }
}
