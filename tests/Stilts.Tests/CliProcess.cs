using System.Diagnostics;

namespace Stilts.Tests;

/// <summary>Runs the real `stilts` CLI (Stilts.Cli.dll beside the tests) as its own process.</summary>
public static class CliProcess
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "Stilts.Cli.dll");

    public static (int Exit, string Stdout, string Stderr) RunWithInput(string? stdin, params string[] args) => RunWith(stdin, null, args);

    public static (int Exit, string Stdout, string Stderr) RunWith(string? stdin, Action<ProcessStartInfo>? configure, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = stdin != null, UseShellExecute = false,
        };
        configure?.Invoke(start);
        start.ArgumentList.Add(Dll);
        foreach (string a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        if (stdin != null)
        {
            using (var w = new StreamWriter(process.StandardInput.BaseStream, new System.Text.UTF8Encoding(false))) w.Write(stdin);
        }
        if (!process.WaitForExit(300_000)) { process.Kill(true); throw new TimeoutException("stilts " + string.Join(" ", args)); }
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    public static (int Exit, string Stdout, string Stderr) Run(params string[] args) => RunWithInput(null, args);
}
