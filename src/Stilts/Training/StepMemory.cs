using static TorchSharp.torch;

namespace Stilts.Training;

/// <summary>
/// Tensor lifetime for a training loop (STACK.md §1): each step runs in its own dispose scope, and every
/// <see cref="GcEvery"/> steps a full GC runs, because the optimizer path leaves finalizable native objects that
/// the (nearly empty) managed heap never gets around to collecting. Usage: <c>using (memory.BeginStep()) { ... }</c>.
/// </summary>
public sealed class StepMemory(int gcEvery = 10)
{
    public int GcEvery { get; } = gcEvery > 0 ? gcEvery : throw new ArgumentOutOfRangeException(nameof(gcEvery), gcEvery, "must be positive");
    public long Steps { get; private set; }

    /// <summary>Opens the step's dispose scope; keep results past the step with MoveToOuterDisposeScope or item().</summary>
    public IDisposable BeginStep() => new StepScope(this, NewDisposeScope());

    sealed class StepScope(StepMemory owner, IDisposable scope) : IDisposable
    {
        bool disposed;

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            scope.Dispose();
            if (++owner.Steps % owner.GcEvery != 0) return;
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }
}
