using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Stilts.Training;

/// <summary>Which parameters weight decay applies to.</summary>
public enum WeightDecayScope
{
    /// <summary>HF Trainer's grouping: no decay for biases and LayerNorm weights. The default for real runs.</summary>
    ExcludeBiasAndLayerNorm,
    /// <summary>torch.optim.AdamW(model.parameters()) as is: every parameter decays.</summary>
    AllParameters,
}

/// <summary>AdamWOptimizer hyperparameters; the numeric defaults are torch.optim.AdamW's.</summary>
public sealed record AdamWOptions
{
    public double LearningRate { get; init; } = 1e-3;
    public double Beta1 { get; init; } = 0.9;
    public double Beta2 { get; init; } = 0.999;
    public double Eps { get; init; } = 1e-8;
    public double WeightDecay { get; init; } = 0.01;
    public WeightDecayScope DecayScope { get; init; } = WeightDecayScope.ExcludeBiasAndLayerNorm;
}

/// <summary>
/// AdamW with torch 1.13's arithmetic (decoupled decay first, then the bias-corrected Adam step), over named
/// parameter groups. Written out rather than using TorchSharp's optim.AdamW so the state (step, exp_avg,
/// exp_avg_sq per parameter) is ours to save and restore by parameter name for an exact resume.
/// </summary>
public sealed class AdamWOptimizer
{
    /// <summary>Parameters sharing a learning rate and decay; the scheduler sets <see cref="LearningRate"/>.</summary>
    public sealed class ParamGroup(IReadOnlyList<(string Name, Parameter Parameter)> parameters, double learningRate, double weightDecay)
    {
        public IReadOnlyList<(string Name, Parameter Parameter)> Parameters { get; } = parameters;
        public double LearningRate { get; set; } = learningRate;
        /// <summary>The rate the group was created with: the scheduler's base rate.</summary>
        public double InitialLearningRate { get; } = learningRate;
        public double WeightDecay { get; } = weightDecay;
    }

    sealed class ParamState(Tensor expAvg, Tensor expAvgSq)
    {
        public long Step;
        public readonly Tensor ExpAvg = expAvg;
        public readonly Tensor ExpAvgSq = expAvgSq;
    }

    readonly Dictionary<string, ParamState> state = new(StringComparer.Ordinal);

    public AdamWOptions Options { get; }
    public IReadOnlyList<ParamGroup> Groups { get; }

    public AdamWOptimizer(IReadOnlyList<ParamGroup> groups, AdamWOptions options)
    {
        var names = groups.SelectMany(g => g.Parameters.Select(p => p.Name)).ToList();
        var duplicate = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate != null) throw new ArgumentException($"parameter '{duplicate.Key}' is in more than one group", nameof(groups));
        Groups = groups;
        Options = options;
    }

    /// <summary>
    /// An optimizer over every parameter of <paramref name="model"/>, grouped by <see cref="AdamWOptions.DecayScope"/>:
    /// [decayed, not decayed] as HF Trainer builds them, or one group.
    /// </summary>
    public static AdamWOptimizer Create(nn.Module model, AdamWOptions options)
    {
        var all = model.named_parameters().ToList();
        if (options.DecayScope == WeightDecayScope.AllParameters)
            return new AdamWOptimizer([new ParamGroup(all, options.LearningRate, options.WeightDecay)], options);
        var noDecay = NoDecayNames(model);
        return new AdamWOptimizer(
        [
            new ParamGroup(all.Where(p => !noDecay.Contains(p.name)).ToList(), options.LearningRate, options.WeightDecay),
            new ParamGroup(all.Where(p => noDecay.Contains(p.name)).ToList(), options.LearningRate, 0.0),
        ], options);
    }

    /// <summary>HF Trainer's rule: parameters of layer-norm modules (T5's RMS norm counts, as in HF's ALL_LAYERNORM_LAYERS), and every name containing "bias".</summary>
    public static HashSet<string> NoDecayNames(nn.Module model)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (moduleName, module) in model.named_modules())
        {
            if (module is not (Models.LayerNorm or TorchSharp.Modules.LayerNorm or Models.T5LayerNorm)) continue;
            foreach (var (name, _) in module.named_parameters()) names.Add(moduleName.Length == 0 ? name : $"{moduleName}.{name}");
        }
        foreach (var (name, _) in model.named_parameters()) if (name.Contains("bias", StringComparison.Ordinal)) names.Add(name);
        return names;
    }

    /// <summary>Sets every gradient to none (parameters without a gradient are skipped by <see cref="Step"/>).</summary>
    public void ZeroGrad()
    {
        foreach (var group in Groups)
            foreach (var (_, p) in group.Parameters) p.grad = null;
    }

    /// <summary>One update of every parameter that has a gradient (torch 1.13 _single_tensor_adamw).</summary>
    public void Step()
    {
        double b1 = Options.Beta1, b2 = Options.Beta2;
        using var noGrad = no_grad();
        foreach (var group in Groups)
        {
            double lr = group.LearningRate;
            foreach (var (name, p) in group.Parameters)
            {
                using var scope = NewDisposeScope();
                var grad = p.grad;
                if (grad is null) continue;
                var s = StateOf(name, p);
                s.Step++;
                if (group.WeightDecay != 0) p.mul_(1 - lr * group.WeightDecay);          // decoupled weight decay (x1 is a no-op pass)
                s.ExpAvg.mul_(b1).add_(grad, alpha: 1 - b1);                             // m = b1 m + (1 - b1) g
                s.ExpAvgSq.mul_(b2).addcmul_(grad, grad, value: 1 - b2);                 // v = b2 v + (1 - b2) g^2
                double correction1 = 1 - Math.Pow(b1, s.Step);
                double correction2 = 1 - Math.Pow(b2, s.Step);
                var denom = s.ExpAvgSq.sqrt().div_(Math.Sqrt(correction2)).add_(Options.Eps); // one temporary, same arithmetic
                p.addcdiv_(s.ExpAvg, denom, value: -lr / correction1);
            }
        }
    }

    ParamState StateOf(string name, Parameter p)
    {
        if (state.TryGetValue(name, out var s)) return s;
        // Detached from the caller's step scope: the moments live as long as the optimizer.
        s = new ParamState(zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope());
        state[name] = s;
        return s;
    }

    /// <summary>The number of updates a parameter has had (0 before its first gradient).</summary>
    public long StepCount(string name) => state.TryGetValue(name, out var s) ? s.Step : 0;

    /// <summary>
    /// The optimizer state as named tensors, ready for safetensors: "{param}.exp_avg", "{param}.exp_avg_sq" and
    /// "{param}.step" (int64 scalar) for each parameter that has been updated. The tensors are copies.
    /// </summary>
    public Dictionary<string, Tensor> StateTensors()
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, s) in state)
        {
            result[$"{name}.exp_avg"] = s.ExpAvg.detach().clone().DetachFromDisposeScope();
            result[$"{name}.exp_avg_sq"] = s.ExpAvgSq.detach().clone().DetachFromDisposeScope();
            result[$"{name}.step"] = tensor(s.Step).DetachFromDisposeScope();
        }
        return result;
    }

    /// <summary>Restores <see cref="StateTensors"/> output; every key must name a parameter of this optimizer.</summary>
    public void LoadStateTensors(IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        var parameters = Groups.SelectMany(g => g.Parameters).ToDictionary(p => p.Name, p => p.Parameter);
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var key in tensors.Keys)
        {
            int dot = key.LastIndexOf('.');
            string name = dot < 0 ? key : key[..dot], field = dot < 0 ? "" : key[(dot + 1)..];
            if (field is not ("exp_avg" or "exp_avg_sq" or "step") || !parameters.ContainsKey(name))
                throw new InvalidInputException($"{source}: {key}", "is not optimizer state of a parameter of this model (expected '<param>.exp_avg', '.exp_avg_sq' or '.step')");
            names.Add(name);
        }
        using var noGrad = no_grad();
        foreach (var name in names)
        {
            var p = parameters[name];
            Tensor Get(string field) => tensors.TryGetValue($"{name}.{field}", out var t) ? t
                : throw new InvalidInputException($"{source}: {name}.{field}", "missing (each parameter needs exp_avg, exp_avg_sq and step)");
            var (m, v, step) = (Get("exp_avg"), Get("exp_avg_sq"), Get("step"));
            if (!m.shape.SequenceEqual(p.shape) || !v.shape.SequenceEqual(p.shape))
                throw new InvalidInputException($"{source}: {name}", $"moment shapes do not match the parameter's [{string.Join(", ", p.shape)}]");
            var s = StateOf(name, p);
            s.ExpAvg.copy_(m);
            s.ExpAvgSq.copy_(v);
            s.Step = step.to(ScalarType.Int64).item<long>();
        }
    }
}
