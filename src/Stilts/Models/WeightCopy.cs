using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Models;

/// <summary>
/// The minimal load step: copy tensors into a module's parameters by state-dict name, checking shapes. The strict
/// loader (Checkpoints) builds on the same identity of names; this stays internal so it can be swapped for it.
/// </summary>
internal static class WeightCopy
{
    internal sealed record Report(IReadOnlyList<string> Loaded, IReadOnlyList<string> Missing, IReadOnlyList<string> Unexpected);

    /// <param name="module">target; its parameter names are the keys looked up in <paramref name="tensors"/></param>
    /// <param name="tensors">e.g. from SafeTensors.Read; dtypes are converted to the parameter's</param>
    /// <param name="source">the file name, for error messages</param>
    /// <param name="ignore">keys that may be present without a parameter (tied aliases)</param>
    public static Report CopyInto(nn.Module module, IReadOnlyDictionary<string, Tensor> tensors, string source, IEnumerable<string>? ignore = null)
    {
        var loaded = new List<string>();
        var missing = new List<string>();
        var skip = new HashSet<string>(ignore ?? []);
        using var noGrad = no_grad();
        var parameters = module.named_parameters().ToList();
        foreach (var (name, parameter) in parameters)
        {
            if (!tensors.TryGetValue(name, out var tensor)) { missing.Add(name); continue; }
            if (!tensor.shape.SequenceEqual(parameter.shape))
                throw new InvalidInputException($"{source}: tensor '{name}'",
                    $"has shape [{string.Join(", ", tensor.shape)}] but the model expects [{string.Join(", ", parameter.shape)}]");
            parameter.copy_(tensor);
            loaded.Add(name);
        }
        var known = parameters.Select(p => p.name).ToHashSet();
        var unexpected = tensors.Keys.Where(k => !known.Contains(k) && !skip.Contains(k)).Order(StringComparer.Ordinal).ToList();
        return new Report(loaded, missing, unexpected);
    }
}
