using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace Stilts.Data.Download;

/// <summary>
/// Downloads one URL to a file. Bytes go to "&lt;file&gt;.part" first; a later run continues it with an HTTP Range
/// request (a server that ignores Range restarts it). The file only gets its final name once complete and, when a
/// SHA-256 is given, verified, so a present final file is always a whole download.
/// </summary>
public sealed class HttpFetcher(HttpClient client, Action<string> log)
{
    static readonly TimeSpan ProgressEvery = TimeSpan.FromSeconds(5);

    public async Task FetchAsync(Uri url, string destination, string? sha256, CancellationToken ct = default)
    {
        string name = Path.GetFileName(destination);
        if (File.Exists(destination))
        {
            if (sha256 == null || await Sha256Async(destination, ct) == sha256.ToLowerInvariant())
            {
                log($"{name}: already downloaded");
                return;
            }
            log($"{name}: checksum of the existing file does not match, downloading again");
            File.Delete(destination);
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(destination))!);
        string part = destination + ".part";
        long have = File.Exists(part) ? new FileInfo(part).Length : 0;

        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (have > 0) request.Headers.Range = new RangeHeaderValue(have, null);
        HttpResponseMessage response;
        try { response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct); }
        catch (HttpRequestException e) { throw new InvalidInputException(url.ToString(), $"cannot download: {e.Message}", e); }
        using var _ = response;

        if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable && have > 0)
            log($"{name}: the partial file already holds every byte");   // verified below
        else
        {
            if (!response.IsSuccessStatusCode)
                throw new InvalidInputException(url.ToString(), $"HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
            bool resumed = have > 0 && response.StatusCode == HttpStatusCode.PartialContent;
            if (have > 0 && !resumed) log($"{name}: server ignored the range request, starting over");
            if (resumed) log($"{name}: resuming at {Size(have)}");
            else have = 0;
            long? total = response.Content.Headers.ContentLength is long len ? len + have : null;
            await CopyAsync(response, part, append: resumed, have, total, name, url, ct);
        }

        if (sha256 != null)
        {
            string actual = await Sha256Async(part, ct);
            if (actual != sha256.ToLowerInvariant())
            {
                File.Delete(part);
                throw new InvalidInputException(url.ToString(),
                    $"SHA-256 mismatch: expected {sha256.ToLowerInvariant()}, got {actual}; the download was deleted, re-run to fetch it again");
            }
        }
        File.Move(part, destination, overwrite: true);
        log($"{name}: done ({Size(new FileInfo(destination).Length)})");
    }

    async Task CopyAsync(HttpResponseMessage response, string part, bool append, long have, long? total, string name, Uri url, CancellationToken ct)
    {
        await using var input = await response.Content.ReadAsStreamAsync(ct);
        await using var output = new FileStream(part, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        var buffer = new byte[1 << 16];
        var clock = Stopwatch.StartNew();
        var last = TimeSpan.Zero;
        long done = have;
        try
        {
            int n;
            while ((n = await input.ReadAsync(buffer, ct)) > 0)
            {
                await output.WriteAsync(buffer.AsMemory(0, n), ct);
                done += n;
                if (clock.Elapsed - last >= ProgressEvery)
                {
                    last = clock.Elapsed;
                    log(total is long t ? $"{name}: {Size(done)} / {Size(t)} ({100.0 * done / t:F0}%)" : $"{name}: {Size(done)}");
                }
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            await output.FlushAsync(ct);
            throw new InvalidInputException(url.ToString(),
                $"connection lost after {Size(done)}; the partial file {Path.GetFileName(part)} is kept, re-run to resume", e);
        }
        if (total is long expected && done != expected)
            throw new InvalidInputException(url.ToString(),
                $"got {done} of {expected} bytes; the partial file {Path.GetFileName(part)} is kept, re-run to resume");
    }

    public static async Task<string> Sha256Async(string path, CancellationToken ct = default)
    {
        await using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
    }

    static string Size(long bytes) => bytes >= 1 << 20 ? $"{bytes / 1048576.0:F1} MiB" : $"{bytes / 1024.0:F1} KiB";
}
