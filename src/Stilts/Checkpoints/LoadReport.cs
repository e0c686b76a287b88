using System.Text.RegularExpressions;

namespace Stilts.Checkpoints;

/// <summary>
/// How <see cref="Checkpoint.LoadInto"/> matches checkpoint keys to a module's state-dict keys. Patterns are globs
/// over whole keys where <c>*</c> matches any run of characters (dots included).
/// </summary>
public sealed record LoadOptions
{
    /// <summary>
    /// HF's base_model_prefix ("bert", "roberta", "transformer"): a checkpoint saved with it loads into a model without
    /// it and the other way round. Null tries each of <see cref="KnownPrefixes"/>.
    /// </summary>
    public string? BaseModelPrefix { get; init; }

    public static IReadOnlyList<string> KnownPrefixes { get; } = ["bert", "roberta", "transformer"];

    /// <summary>
    /// Checkpoint keys the model has no place for that are dropped silently, as HF does: the position_ids buffer that
    /// old checkpoints carry and the pooler when the model (e.g. a token-classification one) was built without it.
    /// </summary>
    public IReadOnlyList<string> IgnoreUnexpected { get; init; } = ["*position_ids", "*pooler.*"];

    /// <summary>Model keys the checkpoint may lack without a word: buffers recomputed at construction.</summary>
    public IReadOnlyList<string> IgnoreMissing { get; init; } = ["*position_ids"];

    /// <summary>Model keys allowed to stay at their initial values (fresh task heads), e.g. ["classifier.*"]; ["*"] allows all.</summary>
    public IReadOnlyList<string> AllowMissing { get; init; } = [];

    /// <summary>
    /// Model key → the model key it is tied to, e.g. "encoder.embed_tokens.weight" → "shared.weight" for mT5, whose
    /// safetensors hold only the shared copy. A tied key absent from the checkpoint takes its partner's weights.
    /// </summary>
    public IReadOnlyDictionary<string, string> Tied { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Loads a submodule from its parent's state dict: only checkpoint keys under this prefix ("xnli" takes
    /// "xnli.*") are matched, with it stripped; the others are not looked at. Reports keep the full keys.
    /// </summary>
    public string? KeyPrefix { get; init; }

    internal static bool Matches(IReadOnlyList<string> patterns, string key) =>
        patterns.Any(p => Regex.IsMatch(key, "^" + Regex.Escape(p).Replace(@"\*", ".*") + "$", RegexOptions.CultureInvariant));
}

/// <summary>What <see cref="Checkpoint.LoadInto"/> did, key by key, in model terms where a key was matched.</summary>
/// <param name="Loaded">Model keys that received checkpoint values.</param>
/// <param name="Missing">Model keys left at their initial values because the caller allowed it.</param>
/// <param name="Unexpected">Checkpoint keys the model has no place for (not an error, as in HF).</param>
/// <param name="Ignored">Keys on either side dropped by the ignore lists.</param>
/// <param name="Renamed">Checkpoint key → model key, where they differ (base-model prefix, legacy gamma/beta).</param>
/// <param name="Tied">Model key → the partner key whose checkpoint value it received.</param>
public sealed record LoadReport(
    IReadOnlyList<string> Loaded,
    IReadOnlyList<string> Missing,
    IReadOnlyList<string> Unexpected,
    IReadOnlyList<string> Ignored,
    IReadOnlyDictionary<string, string> Renamed,
    IReadOnlyDictionary<string, string> Tied);
