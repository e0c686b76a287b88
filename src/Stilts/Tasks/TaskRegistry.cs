using System.Collections.Frozen;

namespace Stilts.Tasks;

/// <summary>
/// Every built-in task by name: one line each, pointing at the definition in the task's own file. A literal table,
/// not reflection, so what exists is visible here. User tasks come from config files (<see cref="UserTask"/>).
/// </summary>
public static class TaskRegistry
{
    public static FrozenDictionary<string, TaskDefinition> All { get; } = new Dictionary<string, TaskDefinition>
    {
        // XTREME / XTREME-R targets
        ["xnli"] = Xnli.Definition,
        ["pawsx"] = PawsX.Definition,
        ["udpos"] = UdPos.Definition,
        ["panx"] = PanX.Definition,
        ["xquad"] = XQuad.Definition,
        ["mlqa"] = Mlqa.Definition,
        ["tydiqa"] = TydiQa.Definition,
        ["bucc2018"] = Bucc.Definition,
        ["tatoeba"] = Tatoeba.Definition,
        ["xcopa"] = Copa.XCopaDefinition,
        ["lareqa"] = LaReqa.Definition,
        ["mewslix"] = MewsliX.Definition,
        // English intermediate tasks
        ["anli"] = Anli.Definition,
        ["anli_plus"] = Anli.PlusDefinition,
        ["mnli"] = Mnli.Definition,
        ["qqp"] = Qqp.Definition,
        ["snli"] = Snli.Definition,
        ["squad_v1"] = Squad.V1,
        ["squad_v2"] = Squad.V2,
        ["hellaswag"] = HellaSwag.Definition,
        ["commonsenseqa"] = CommonsenseQa.Definition,
        ["cosmosqa"] = CosmosQa.Definition,
        ["socialiqa"] = SocialIqa.Definition,
        ["copa"] = Copa.Definition,
        ["ccg"] = Ccg.Definition,
        ["mlm"] = MaskedLm.Definition,
        // The quickstart's generated toy world
        ["toysent"] = ToySentiment.Definition,
    }.ToFrozenDictionary();

    /// <summary>The definition of a built-in task; an unknown name is an error listing the known ones.</summary>
    public static TaskDefinition Get(string name) =>
        All.TryGetValue(name, out var def) ? def
            : throw new InvalidInputException($"task \"{name}\"", $"unknown task; known: {string.Join(", ", All.Keys.Order(StringComparer.Ordinal))}");

    /// <summary>The XTREME (9) or XTREME-R (10) target tasks, in the benchmark's order.</summary>
    public static IReadOnlyList<TaskDefinition> Xtreme { get; } =
        [.. new[] { "xnli", "pawsx", "udpos", "panx", "xquad", "mlqa", "tydiqa", "bucc2018", "tatoeba" }.Select(n => All[n])];
    public static IReadOnlyList<TaskDefinition> XtremeR { get; } =
        [.. new[] { "xnli", "xcopa", "udpos", "panx", "xquad", "mlqa", "tydiqa", "mewslix", "lareqa", "tatoeba" }.Select(n => All[n])];
}
