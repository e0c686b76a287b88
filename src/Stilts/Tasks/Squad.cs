namespace Stilts.Tasks;

/// <summary>SQuAD v1.1 and v2.0 as intermediate tasks (v1.1 train is also XQuAD's and MLQA's English training set).</summary>
public static class Squad
{
    public static TaskDefinition V1 { get; } = new()
    {
        Name = "squad_v1", Kind = TaskKind.SpanQa, Role = TaskRole.Intermediate,
        Layout = new("train-v1.1.json", "dev-v1.1.json", null),
        Reader = TaskDefinition.Examples((p, r) => SquadJson.Read(p, r)), Metric = MetricName.SquadEmF1, DefaultMaxLength = 384,
    };

    /// <summary>v2.0 adds unanswerable questions (is_impossible, no answers).</summary>
    public static TaskDefinition V2 { get; } = V1 with { Name = "squad_v2", Layout = new("train-v2.0.json", "dev-v2.0.json", null) };
}
