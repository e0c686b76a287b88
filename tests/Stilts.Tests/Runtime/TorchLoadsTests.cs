using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Tests.Runtime;

// Proves the build-time GLIBCXX fix: on Debian 12 the first torch call throws without it.
public sealed class TorchLoadsTests
{
    [Fact]
    public void MatrixProductRunsInLibtorch()
    {
        using var a = tensor(new float[] { 1, 2, 3, 4 }, 2, 2);
        using var b = tensor(new float[] { 5, 6, 7, 8 }, 2, 2);
        using var c = matmul(a, b);
        Assert.Equal(new float[] { 19, 22, 43, 50 }, c.data<float>().ToArray());
    }

    [Fact]
    public void PatchedNativeGlueIsWhatTheTestsLoad()
    {
        string so = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        Assert.True(File.Exists(so), so);
        Assert.True(ElfVersionNeeds.IsWeak(File.ReadAllBytes(so), "GLIBCXX_3.4.32"));
    }
}
