using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Stilts.Training;

/// <summary>Gradient norms and clipping as torch.nn.utils.clip_grad_norm_ (torch 1.13) computes them.</summary>
public static class Gradients
{
    /// <summary>sqrt(sum over parameters of |grad|^2), in float32; parameters without a gradient count as 0.</summary>
    public static double GlobalNorm(IEnumerable<Parameter> parameters)
    {
        using var scope = NewDisposeScope();
        using var total = TotalNorm(parameters);
        return total is null ? 0 : total.item<float>();
    }

    /// <summary>
    /// Scales all gradients by min(1, maxNorm / (norm + 1e-6)) and returns the norm before clipping.
    /// Pass double.PositiveInfinity to measure without clipping.
    /// </summary>
    public static double ClipGlobalNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        if (!(maxNorm > 0)) throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "must be positive");
        var list = parameters.ToList();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var total = TotalNorm(list);
        if (total is null) return 0;
        var coefficient = (maxNorm / (total + 1e-6)).clamp_max(1.0);
        float norm = total.item<float>();
        if (coefficient.item<float>() == 1f) return norm; // scaling by exactly 1 changes nothing: skip the pass
        foreach (var p in list)
        {
            var grad = p.grad;
            grad?.mul_(coefficient.to(grad.dtype));
        }
        return norm;
    }

    // torch: norm(stack([norm(g) for g in grads])); bf16 gradients are measured in float32.
    static Tensor? TotalNorm(IEnumerable<Parameter> parameters)
    {
        var norms = new List<Tensor>();
        foreach (var p in parameters)
        {
            var grad = p.grad;
            if (grad is not null) norms.Add(grad.detach().to(ScalarType.Float32).norm());
        }
        return norms.Count == 0 ? null : stack(norms).norm();
    }
}
