using Stilts.Pipeline;

namespace Stilts.Tests.Pipeline;

public class AtomicFolderTests
{
    [Fact]
    public void Replaces_the_folder_and_keeps_the_old_one_when_a_writer_fails()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "ckpt");
        AtomicFolder.Write(path, d => File.WriteAllText(Path.Combine(d, "state.json"), "1"));
        Assert.Equal("1", File.ReadAllText(Path.Combine(AtomicFolder.Resolve(path)!, "state.json")));
        Assert.Throws<IOException>(() => AtomicFolder.Write(path, d => { File.WriteAllText(Path.Combine(d, "state.json"), "2"); throw new IOException("disk full"); }));
        Assert.Equal("1", File.ReadAllText(Path.Combine(AtomicFolder.Resolve(path)!, "state.json")));
        AtomicFolder.Write(path, d => File.WriteAllText(Path.Combine(d, "state.json"), "3"));
        Assert.Equal("3", File.ReadAllText(Path.Combine(path, "state.json")));
        Assert.Single(Directory.GetDirectories(Path.GetDirectoryName(path)!));
    }

    [Fact]
    public void A_kill_between_the_two_renames_resolves_to_the_old_folder()
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "ckpt");
        AtomicFolder.Write(path, d => File.WriteAllText(Path.Combine(d, "v"), "old"));
        Directory.Move(path, path + ".old"); // the state a kill after the first rename leaves
        Assert.Equal(path + ".old", AtomicFolder.Resolve(path));
        AtomicFolder.Write(path, d => File.WriteAllText(Path.Combine(d, "v"), "new"));
        Assert.Equal(path, AtomicFolder.Resolve(path));
        Assert.False(Directory.Exists(path + ".old"));
    }

    [Fact]
    public void Trainer_state_round_trips()
    {
        var state = new TrainerState
        {
            Stage = "target", Step = 12, TotalSteps = 40, Cursors = { ["xnli"] = new DataCursor(1, 3) },
            SamplerState = [1, 2, ulong.MaxValue, 4], BestMetric = 0.75, BestStep = 10, EvalsWithoutImprovement = 1,
        };
        string path = Path.Combine(TestPaths.NewTempDir(), "trainer_state.json");
        state.Save(path);
        var back = TrainerState.FromFile(path);
        Assert.Equal(state.ToJson(), back.ToJson());
        Assert.Equal(new DataCursor(1, 3), back.Cursors["xnli"]);
        Assert.Equal(ulong.MaxValue, back.SamplerState[2]);
        File.WriteAllText(path, "{ \"step\": \"x\" }");
        Assert.Throws<InvalidInputException>(() => TrainerState.FromFile(path));
    }
}
