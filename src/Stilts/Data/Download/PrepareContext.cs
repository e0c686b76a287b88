namespace Stilts.Data.Download;

/// <summary>
/// What a data set's prepare step works with: the downloaded files, a scratch folder, and the output folder, which
/// the downloader moves into place under the target directory only after the step succeeds.
/// </summary>
public sealed class PrepareContext(string downloads, string staging, string output, string targetDir, Action<string> log)
{
    public string Downloads { get; } = downloads;
    public string Staging { get; } = staging;
    public string Output { get; } = output;
    /// <summary>The --to folder itself (where manual files such as AmazonPhotos.zip are put).</summary>
    public string TargetDir { get; } = targetDir;
    public Action<string> Log { get; } = log;

    public string Input(string fileName) => Path.Combine(Downloads, fileName);

    /// <summary>Unpacks a downloaded (or given) archive into a fresh scratch folder and returns that folder.</summary>
    public string Extract(string archivePath, Func<string, bool>? include = null)
    {
        string dir = Path.Combine(Staging, "x-" + Path.GetFileName(archivePath));
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Log($"extracting {Path.GetFileName(archivePath)}");
        ArchiveExtractor.Extract(archivePath, dir, include);
        return dir;
    }
}
