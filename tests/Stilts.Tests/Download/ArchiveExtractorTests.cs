using Stilts.Data.Download;

namespace Stilts.Tests.Download;

public class ArchiveExtractorTests
{
    static string Write(string dir, string name, byte[] bytes)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData("a.zip")]
    [InlineData("a.tar.gz")]
    [InlineData("a.tgz")]
    [InlineData("a.tar.bz2")]
    public void Unpacks_each_archive_kind(string name)
    {
        string dir = TestPaths.NewTempDir();
        (string, string)[] entries = [("top/one.txt", "first file"), ("top/sub/two.txt", "second\nfile")];
        byte[] bytes = name.EndsWith(".zip") ? Fixtures.Zip(entries) : name.EndsWith(".bz2") ? Fixtures.TarBz2(entries) : Fixtures.TarGz(entries);
        ArchiveExtractor.Extract(Write(dir, name, bytes), Path.Combine(dir, "out"));
        Assert.Equal("first file", File.ReadAllText(Path.Combine(dir, "out", "top", "one.txt")));
        Assert.Equal("second\nfile", File.ReadAllText(Path.Combine(dir, "out", "top", "sub", "two.txt")));
    }

    [Theory]
    [InlineData("evil.zip", "../escaped.txt")]
    [InlineData("evil.tar.gz", "../escaped.txt")]
    [InlineData("evil.tar.gz", "ok/../../escaped.txt")]
    [InlineData("evil.tar.bz2", "/tmp/escaped-absolute.txt")]
    [InlineData("evil.zip", "/tmp/escaped-absolute.txt")]
    public void Refuses_entries_that_escape_the_destination(string archive, string entry)
    {
        string dir = TestPaths.NewTempDir();
        (string, string)[] entries = [("fine.txt", "ok"), (entry, "should never be written")];
        byte[] bytes = archive.EndsWith(".zip") ? Fixtures.Zip(entries) : archive.EndsWith(".bz2") ? Fixtures.TarBz2(entries) : Fixtures.TarGz(entries);
        string outDir = Path.Combine(dir, "out");
        var ex = Assert.Throws<InvalidInputException>(() => ArchiveExtractor.Extract(Write(dir, archive, bytes), outDir));
        Assert.Contains(entry, ex.Message);
        Assert.False(File.Exists(Path.Combine(dir, "escaped.txt")));
        Assert.False(File.Exists("/tmp/escaped-absolute.txt"));
    }

    [Fact]
    public void Refuses_a_symlink_pointing_outside_and_keeps_one_pointing_inside()
    {
        string dir = TestPaths.NewTempDir();
        string bad = Write(dir, "bad.tar.gz", Fixtures.TarGzWithLink("data/link", "../../outside", ("data/a.txt", "a")));
        var ex = Assert.Throws<InvalidInputException>(() => ArchiveExtractor.Extract(bad, Path.Combine(dir, "out1")));
        Assert.Contains("data/link", ex.Message);

        string good = Write(dir, "good.tar.gz", Fixtures.TarGzWithLink("data/link", "a.txt", ("data/a.txt", "inside")));
        ArchiveExtractor.Extract(good, Path.Combine(dir, "out2"));
        Assert.Equal("inside", File.ReadAllText(Path.Combine(dir, "out2", "data", "link")));
    }

    [Fact]
    public void Include_filter_extracts_only_matching_entries()
    {
        string dir = TestPaths.NewTempDir();
        string archive = Write(dir, "f.tar.gz", Fixtures.TarGz(("x/keep.conllu", "k"), ("x/drop.txt", "d")));
        ArchiveExtractor.Extract(archive, Path.Combine(dir, "out"), n => n.EndsWith(".conllu"));
        Assert.True(File.Exists(Path.Combine(dir, "out", "x", "keep.conllu")));
        Assert.False(File.Exists(Path.Combine(dir, "out", "x", "drop.txt")));
    }

    [Fact]
    public void Unknown_archive_type_is_reported()
    {
        string dir = TestPaths.NewTempDir();
        var ex = Assert.Throws<InvalidInputException>(() => ArchiveExtractor.Extract(Write(dir, "data.rar", [1, 2, 3]), dir));
        Assert.Contains("data.rar", ex.Message);
    }
}
