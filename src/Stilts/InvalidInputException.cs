namespace Stilts;

/// <summary>
/// Bad user input: a malformed data file, config, checkpoint or argument. The message always names where the
/// problem is (file, line or key) and what was expected, so the CLI can print it as is and exit non-zero.
/// </summary>
public sealed class InvalidInputException : Exception
{
    /// <summary>The file, key or argument at fault, e.g. "data/train.tsv:12" or "config.json: hidden_size".</summary>
    public string Where { get; }

    public InvalidInputException(string where, string problem, Exception? inner = null)
        : base($"{where}: {problem}", inner) => Where = where;

    /// <summary>"file:line" for errors inside line-oriented files (1-based line numbers).</summary>
    public static InvalidInputException AtLine(string file, int line, string problem) => new($"{file}:{line}", problem);
}
