namespace Stilts.Data.Download;

public sealed record DownloadOptions
{
    /// <summary>Fetch every URL from this base instead, as {Mirror}/{host}/{path} (a local mirror; tests).</summary>
    public Uri? Mirror { get; init; }
    /// <summary>Keep the downloaded archives under {dir}/.downloads after a successful prepare.</summary>
    public bool KeepArchives { get; init; }
}

/// <summary>
/// Fetches a data set's files into {dir}/.downloads/{name}, runs its prepare step in {dir}/.staging/{name}, and only
/// then moves the finished folder to {dir}/{folder}, so an interrupted run never leaves a half-prepared data set and a
/// re-run resumes the partial downloads.
/// </summary>
public sealed class DatasetDownloader(HttpClient client, Action<string> log, DownloadOptions? options = null)
{
    readonly DownloadOptions _options = options ?? new DownloadOptions();
    readonly HttpFetcher _fetcher = new(client, log);

    public Uri Resolve(string url)
    {
        var source = new Uri(url);
        if (_options.Mirror is not Uri mirror) return source;
        string baseUrl = mirror.ToString().TrimEnd('/');
        return new Uri($"{baseUrl}/{source.Host}{source.AbsolutePath}");
    }

    public async Task DownloadAsync(DatasetSource dataset, string dir, CancellationToken ct = default)
    {
        dir = Path.GetFullPath(dir);
        Directory.CreateDirectory(dir);
        if (dataset.ManualFile != null && !File.Exists(Path.Combine(dir, dataset.ManualFile)))
            throw new InvalidInputException(Path.Combine(dir, dataset.ManualFile),
                (dataset.Note ?? "this file must be downloaded by hand").Replace("{dir}", dir));

        log($"== {dataset.Name}");
        string downloads = Path.Combine(dir, ".downloads", dataset.Name);
        Directory.CreateDirectory(downloads);
        foreach (var file in dataset.Files)
            await _fetcher.FetchAsync(Resolve(file.Url), Path.Combine(downloads, file.Name), file.Sha256, ct);

        string staging = Path.Combine(dir, ".staging", dataset.Name);
        if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        string output = Path.Combine(staging, "out");
        Directory.CreateDirectory(staging);
        dataset.Prepare(new PrepareContext(downloads, staging, output, dir, log));
        if (!Directory.Exists(output)) throw new InvalidOperationException($"{dataset.Name}: the prepare step wrote nothing");

        string final = Path.Combine(dir, dataset.Folder);
        if (Directory.Exists(final)) Directory.Delete(final, recursive: true);
        Directory.Move(output, final);
        Directory.Delete(staging, recursive: true);
        if (!_options.KeepArchives) Directory.Delete(downloads, recursive: true);
        if (dataset.ManualFile == null && dataset.Note != null) log(dataset.Note);
        log($"{dataset.Name}: ready in {final}");
    }
}
