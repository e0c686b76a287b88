using System.CommandLine;
using Stilts.Data.Download;

namespace Stilts.Cli.Commands;

/// <summary>stilts download &lt;dataset|xtreme|xtreme-r&gt; --to DIR: fetch, unpack and lay out benchmark data.</summary>
public static class DownloadCommand
{
    public static Command Create()
    {
        var name = new Argument<string>("dataset")
        {
            Description = $"A data set ({string.Join(", ", DatasetCatalog.All.Keys.Order())}) or a group ({string.Join(", ", DatasetCatalog.Groups.Keys)})",
        };
        var to = new Option<string>("--to") { Description = "Target folder (data sets land in DIR/<task>/)", Required = true };
        var mirror = new Option<string?>("--mirror") { Description = "Fetch every URL as MIRROR/<host>/<path> instead (local mirrors)" };
        var keep = new Option<bool>("--keep-archives") { Description = "Keep downloaded archives in DIR/.downloads" };
        var command = new Command("download", "Download and prepare benchmark and intermediate-task data") { name, to, mirror, keep };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(name)!, parse.GetValue(to)!, parse.GetValue(mirror), parse.GetValue(keep), ct));
        return command;
    }

    public static Task<int> RunAsync(string dataset, string dir, string? mirror, bool keepArchives, CancellationToken ct) =>
        CliCommon.Guard(() => DownloadAllAsync(DatasetCatalog.Resolve(dataset), dir, mirror, keepArchives, ct));

    static async Task<int> DownloadAllAsync(IReadOnlyList<DatasetSource> sets, string dir, string? mirror, bool keepArchives, CancellationToken ct)
    {
        using var client = new HttpClient { Timeout = Timeout.InfiniteTimeSpan };
        client.DefaultRequestHeaders.UserAgent.ParseAdd("stilts-download/0.1");
        var options = new DownloadOptions { Mirror = mirror == null ? null : new Uri(mirror), KeepArchives = keepArchives };
        var downloader = new DatasetDownloader(client, line => Console.WriteLine(line), options);
        var failed = new List<string>();
        // One failure (PAN-X waiting for its manual file, a dead link) does not stop the rest of a group.
        foreach (var set in sets)
        {
            try { await downloader.DownloadAsync(set, dir, ct); }
            catch (InvalidInputException e)
            {
                CliCommon.Fail(e);
                failed.Add(set.Name);
            }
        }
        if (failed.Count == 0) return 0;
        Console.Error.WriteLine($"not prepared: {string.Join(", ", failed)}");
        return 2;
    }
}
