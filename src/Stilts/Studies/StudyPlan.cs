using System.Text.Json;

namespace Stilts.Studies;

public enum PlannedRunKind { Intermediate, Target }

/// <summary>
/// One unit of work. An intermediate run trains a (model, regime, seed) once; every target run of that triple
/// depends on it and starts from its encoder. Baseline target runs start from the pretrained model directly.
/// </summary>
public sealed record PlannedRun(
    string Key, PlannedRunKind Kind, StudyModel Model, StudyRegime Regime, string? Target, int Seed,
    string? DependsOn, string ConfigJson, string ConfigHash)
{
    public string Folder(StudyFile study) => Path.Combine(study.OutputDir, Key.Replace('/', Path.DirectorySeparatorChar));
}

/// <summary>Grid expansion: models x regimes x seeds intermediate runs, then x targets target runs.</summary>
public static class StudyPlan
{
    public static IReadOnlyList<PlannedRun> Expand(StudyFile study)
    {
        var runs = new List<PlannedRun>();
        foreach (var model in study.Models)
        foreach (var regime in study.Regimes)
        foreach (int seed in study.Seeds)
        {
            string? intermediateKey = null;
            if (regime.Kind != RegimeKind.Baseline)
            {
                intermediateKey = $"int/{model.Name}/{regime.Name}/s{seed}";
                string cfg = Describe(study, model, regime, null, seed, null);
                runs.Add(new PlannedRun(intermediateKey, PlannedRunKind.Intermediate, model, regime, null, seed, null, cfg, StudyFile.Hash(cfg)));
            }
            foreach (string target in study.Targets)
            {
                string key = $"tgt/{model.Name}/{regime.Name}/{target}/s{seed}";
                // The target run's hash covers its intermediate run's hash: editing a regime re-plans its targets.
                string? dependsHash = intermediateKey == null ? null : runs.First(r => r.Key == intermediateKey).ConfigHash;
                string cfg = Describe(study, model, regime, target, seed, dependsHash);
                runs.Add(new PlannedRun(key, PlannedRunKind.Target, model, regime, target, seed, intermediateKey, cfg, StudyFile.Hash(cfg)));
            }
        }
        return runs;
    }

    // Everything that determines a run's result; its hash decides whether a stored result is still valid.
    static string Describe(StudyFile study, StudyModel model, StudyRegime regime, string? target, int seed, string? dependsHash) =>
        JsonSerializer.Serialize(new SortedDictionary<string, object?>(StringComparer.Ordinal)
        {
            ["model"] = model.Path,
            ["stages"] = target == null ? regime.StageJson.Select(s => JsonDocument.Parse(s).RootElement).ToList() : null,
            ["target"] = target == null ? null : JsonDocument.Parse(study.TargetJson[target]).RootElement,
            ["seed"] = seed,
            ["overrides"] = JsonDocument.Parse(study.OverridesJson).RootElement,
            ["stage_defaults"] = JsonDocument.Parse(study.StageDefaultsJson).RootElement,
            ["intermediate"] = dependsHash,
        });
}
