using System.Diagnostics;
using SkiaSharp;
using Stilts.Studies;

namespace Stilts.Tests.Studies;

// Opens the HTML report in real headless Chromium (Debian's package; .ci/install-deps installs it): the page
// must load without console errors and its screenshot must show content, not a blank page.
public sealed class ReportBrowserTests
{
    [Fact]
    public void HtmlReportRendersInChromiumWithoutConsoleErrors()
    {
        string chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("Chromium is not installed (apt-get install chromium; .ci/install-deps does it)");
        var (study, store) = StudyReportTests.Populate();
        using var _ = store;
        string dir = TestPaths.NewTempDir("browser");
        var files = StudyReport.Write(study, store, dir);
        string shot = Path.Combine(dir, "shot.png");

        var psi = new ProcessStartInfo(chromium)
        {
            RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false,
        };
        foreach (var arg in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     $"--user-data-dir={Path.Combine(dir, "profile")}", "--enable-logging=stderr", "--v=0",
                     "--window-size=1200,2000", $"--screenshot={shot}", new Uri(files.Html).AbsoluteUri })
            psi.ArgumentList.Add(arg);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(120_000), "chromium did not finish in 2 minutes");

        // Chromium logs every page console message (errors, uncaught exceptions, failed loads) as INFO:CONSOLE.
        var console = stderr.Result.Split('\n').Where(l => l.Contains(":CONSOLE")).ToList();
        Assert.True(console.Count == 0, "console messages: " + string.Join("\n", console));

        using var bitmap = SKBitmap.Decode(shot);
        Assert.NotNull(bitmap);
        int nonWhite = 0, dark = 0;
        for (int y = 0; y < bitmap.Height; y += 4)
            for (int x = 0; x < bitmap.Width; x += 4)
            {
                var c = bitmap.GetPixel(x, y);
                if (c.Red < 245 || c.Green < 245 || c.Blue < 245) nonWhite++;
                if (c.Red < 80 && c.Green < 80 && c.Blue < 80) dark++; // text
            }
        int samples = (bitmap.Width / 4) * (bitmap.Height / 4);
        Assert.True(nonWhite > samples / 50, $"screenshot looks blank: {nonWhite} of {samples} samples are not white");
        Assert.True(dark > 100, "no text drawn");
    }
}
