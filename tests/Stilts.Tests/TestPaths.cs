namespace Stilts.Tests;

/// <summary>Locations the tests read: the repository root and the shared reference vectors beside it.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>../shared beside the checkout (CI clones the repo with shared/ next to it).</summary>
    public static string Shared { get; } = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));

    public static string TestVectors(string family) => Path.Combine(Shared, "testvectors", family);

    /// <summary>A fresh empty folder under the system temp dir, removed by the OS eventually.</summary>
    public static string NewTempDir(string tag = "stilts")
    {
        string dir = Path.Combine(Path.GetTempPath(), $"{tag}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Stilts.slnx"))) return dir.FullName;
        throw new InvalidOperationException("Stilts.slnx not found above " + AppContext.BaseDirectory);
    }
}
