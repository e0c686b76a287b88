using System.Diagnostics;
using System.Globalization;
using Stilts.Models;
using Stilts.Tasks.Featurization;
using Stilts.Training;
using static TorchSharp.torch;

namespace Stilts.Bench;

/// <summary>Seconds one step spent in each phase of the loop.</summary>
public sealed record StepPhases(double Sampling, double Loading, double Collation, double Model, double Logging, double Teardown)
{
    /// <summary>The model phase split: forward + loss, backward, clipping + AdamW + schedule + zero-grad.</summary>
    public (double Forward, double Backward, double Optimizer) ModelSplit { get; init; }

    public double Total => Sampling + Loading + Collation + Model + Logging + Teardown;
    public double Outside => Total - Model;
}

/// <summary>
/// A training loop assembled from Stilts' real parts, timing each phase of every step: sampling (which task and
/// which examples), loading (the cached features of those examples), collation (Collator.Classification: dynamic
/// padding into tensors), the model (forward, loss, backward, clipping, AdamW step, schedule, zero-grad) and logging
/// (loss.item() and one JSON line per step to the training log). Memory follows STACK.md §1 through
/// <see cref="StepMemory"/>: one dispose scope per step and a full GC every 10 steps.
/// The pipeline's ExperimentRunner composes the same parts; it was not on main when this bench was written.
/// </summary>
public sealed class TrainingLoop : IDisposable
{
    readonly EncoderWithHead model;
    readonly AdamWOptimizer optimizer;
    readonly LinearWarmupSchedule schedule;
    readonly Collator collator;
    readonly IReadOnlyList<ClassificationFeature>[] tasks;
    readonly int[][] order;
    readonly int[] cursor;
    readonly int batchSize;
    readonly Random random = new(7);
    readonly StepMemory memory = new(gcEvery: 10);
    readonly StreamWriter log;
    int step;

    public EncoderConfig Config { get; }
    public long NonEmbeddingParameters { get; }
    public long Parameters { get; }

    public TrainingLoop(EncoderConfig config, int batchSize, int seqLen, int totalSteps, string logPath, int examplesPerTask = 512)
    {
        Config = config;
        this.batchSize = batchSize;
        manual_seed(11);
        model = EncoderWithHead.Create(config, HeadKind.SequenceClassification, 2);
        model.train();
        optimizer = AdamWOptimizer.Create(model, new AdamWOptions { LearningRate = 2e-5, WeightDecay = 0.01 });
        schedule = new LinearWarmupSchedule(optimizer, warmupSteps: Math.Max(1, totalSteps / 10), totalSteps: Math.Max(2, totalSteps));
        collator = new Collator(config.PadTokenId);
        // Two tasks of cached features (as the feature cache holds them): lengths vary so padding is dynamic.
        var data = new Random(3);
        tasks = [Features(data, examplesPerTask, seqLen, config.VocabSize), Features(data, examplesPerTask / 2, seqLen, config.VocabSize)];
        order = tasks.Select(t => Enumerable.Range(0, t.Count).ToArray()).ToArray();
        cursor = new int[tasks.Length];
        foreach (var (name, p) in model.named_parameters())
        {
            Parameters += p.numel();
            if (!name.Contains("embeddings", StringComparison.Ordinal)) NonEmbeddingParameters += p.numel();
        }
        log = new StreamWriter(logPath, append: false);
    }

    static List<ClassificationFeature> Features(Random random, int count, int seqLen, int vocab)
    {
        var rows = new List<ClassificationFeature>(count);
        for (int i = 0; i < count; i++)
        {
            int len = random.Next(Math.Max(2, seqLen * 3 / 4), seqLen + 1);
            var ids = new int[len];
            for (int t = 0; t < len; t++) ids[t] = random.Next(4, vocab);
            ids[0] = 0; ids[^1] = 2;
            var mask = new int[len];
            Array.Fill(mask, 1);
            rows.Add(new ClassificationFeature(ids, mask, new int[len], random.Next(2)));
        }
        // One row of full length per task so every epoch has a batch padded to seqLen.
        var longest = rows[0];
        if (longest.InputIds.Length < seqLen)
        {
            var ids = new int[seqLen]; Array.Fill(ids, 5); var mask = new int[seqLen]; Array.Fill(mask, 1);
            rows[0] = new ClassificationFeature(ids, mask, new int[seqLen], 0);
        }
        return rows;
    }

    /// <summary>
    /// Padding to the longest row is dynamic, so the bench's FLOP count needs the batch's real width; this makes
    /// every batch full width (seqLen) by pinning row 0 of each batch to the full-length example.
    /// </summary>
    public bool FullWidth { get; init; } = true;

    public StepPhases Step()
    {
        long t0 = Stopwatch.GetTimestamp();
        double sampling, loading, collation, modelTime, logging;
        (double, double, double) split;
        using (memory.BeginStep())
        {
            // Sampling: size-proportional task choice, then the next indices of that task's shuffled epoch.
            int total = tasks.Sum(t => t.Count), pick = random.Next(total), task = 0;
            while (pick >= tasks[task].Count) pick -= tasks[task++].Count;
            var indices = new int[batchSize];
            for (int i = 0; i < batchSize; i++)
            {
                if (cursor[task] == 0) random.Shuffle(order[task]);
                indices[i] = order[task][cursor[task]];
                cursor[task] = (cursor[task] + 1) % order[task].Length;
            }
            if (FullWidth) indices[0] = 0;
            long t1 = Stopwatch.GetTimestamp();
            sampling = Seconds(t0, t1);

            var rows = new ClassificationFeature[batchSize];
            for (int i = 0; i < batchSize; i++) rows[i] = tasks[task][indices[i]];
            long t2 = Stopwatch.GetTimestamp();
            loading = Seconds(t1, t2);

            var batch = collator.Classification(rows);
            long t3 = Stopwatch.GetTimestamp();
            collation = Seconds(t2, t3);

            var logits = model.forward(new EncoderInput(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds));
            var loss = model.Loss(logits, batch.Labels!);
            long tf = Stopwatch.GetTimestamp();
            loss.backward();
            long tb = Stopwatch.GetTimestamp();
            double norm = Gradients.ClipGlobalNorm(model.parameters(), 1.0);
            optimizer.Step();
            schedule.Step();
            optimizer.ZeroGrad();
            long t4 = Stopwatch.GetTimestamp();
            modelTime = Seconds(t3, t4);
            split = (Seconds(t3, tf), Seconds(tf, tb), Seconds(tb, t4));

            step++;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"step\":{step},\"task\":{task},\"loss\":{loss.item<float>():0.#####},\"lr\":{optimizer.Groups[0].LearningRate:0.###e0},\"grad_norm\":{norm:0.####}}}"));
            long t5 = Stopwatch.GetTimestamp();
            logging = Seconds(t4, t5);
        }
        // The step scope's disposal and the periodic GC belong to the loop, not the model.
        double teardown = Stopwatch.GetElapsedTime(t0).TotalSeconds - (sampling + loading + collation + modelTime + logging);
        return new StepPhases(sampling, loading, collation, modelTime, logging, teardown) { ModelSplit = split };
    }

    static double Seconds(long from, long to) => (to - from) / (double)Stopwatch.Frequency;

    public void Dispose()
    {
        log.Dispose();
        model.Dispose();
    }
}
