using Stilts.Pipeline;
using Stilts.Tokenization;

namespace Stilts.Tests.Pipeline;

/// <summary>A generated toy world and a tiny BERT config with the toy vocab.txt (read by the real BERT WordPiece tokenizer).</summary>
sealed class ToyRun
{
    public string Root { get; }
    public string World => Path.Combine(Root, "world");
    public string Model => Path.Combine(Root, "tiny-bert");
    public string Cache => Path.Combine(Root, "cache");

    public ToyRun(ToyWorldOptions? world = null, int hidden = 32)
    {
        Root = TestPaths.NewTempDir("stilts-toyrun");
        ToyWorld.Generate(world ?? new ToyWorldOptions { NliTrain = 400, PosTrain = 200, DevSize = 60, TestSize = 80, CorpusSize = 300 }).Write(World);
        Quickstart.WriteTinyBert(Model, File.ReadAllLines(Path.Combine(World, "vocab.txt")).Length,
            new QuickstartOptions { Folder = Root, HiddenSize = hidden, Layers = 2, Heads = 2 });
        File.Copy(Path.Combine(World, "vocab.txt"), Path.Combine(Model, "vocab.txt"));
    }

    public static TextTokenizer LoadTokenizer(string modelDir) => AutoTokenizer.FromFolder(modelDir);

    public RunOptions Options(string name) => new() { RunDir = Path.Combine(Root, "runs", name), LoadTokenizer = LoadTokenizer, CacheDir = Cache, TensorBoard = false };
}
