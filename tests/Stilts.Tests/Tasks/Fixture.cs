namespace Stilts.Tests.Tasks;

/// <summary>Writes small fixture files (our own sentences) into a fresh temp folder.</summary>
internal static class Fixture
{
    /// <summary>Writes lines joined by '\n' (with a final newline); '|' inside a line is NOT special.</summary>
    public static string Lines(string dir, string name, params string[] lines) => Text(dir, name, string.Join("\n", lines) + "\n");

    public static string Text(string dir, string name, string text)
    {
        string path = Path.Combine(dir, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Tab-joined row.</summary>
    public static string T(params string[] cells) => string.Join("\t", cells);
}
