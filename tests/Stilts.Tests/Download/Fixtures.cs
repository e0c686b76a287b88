using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using ICSharpCode.SharpZipLib.BZip2;

namespace Stilts.Tests.Download;

/// <summary>Builds small archives in memory from (name, text) pairs; our own text, never real benchmark data.</summary>
public static class Fixtures
{
    public static byte[] Zip(params (string Name, string Text)[] entries)
    {
        using var memory = new MemoryStream();
        using (var zip = new ZipArchive(memory, ZipArchiveMode.Create, leaveOpen: true))
            foreach (var (name, text) in entries)
            {
                using var stream = zip.CreateEntry(name).Open();
                stream.Write(Encoding.UTF8.GetBytes(text));
            }
        return memory.ToArray();
    }

    public static byte[] TarGz(params (string Name, string Text)[] entries) => Compress(Tar(entries), s => new GZipStream(s, CompressionLevel.Fastest, leaveOpen: true));

    public static byte[] TarBz2(params (string Name, string Text)[] entries) => Compress(Tar(entries), s => new BZip2OutputStream(s) { IsStreamOwner = false });

    /// <summary>A tar with one symlink entry besides the files.</summary>
    public static byte[] TarGzWithLink(string linkName, string linkTarget, params (string Name, string Text)[] entries)
    {
        using var memory = new MemoryStream();
        using (var writer = new TarWriter(memory, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, text) in entries) writer.WriteEntry(File(name, text));
            writer.WriteEntry(new PaxTarEntry(TarEntryType.SymbolicLink, linkName) { LinkName = linkTarget });
        }
        return Compress(memory.ToArray(), s => new GZipStream(s, CompressionLevel.Fastest, leaveOpen: true));
    }

    static byte[] Tar((string Name, string Text)[] entries)
    {
        using var memory = new MemoryStream();
        using (var writer = new TarWriter(memory, TarEntryFormat.Pax, leaveOpen: true))
            foreach (var (name, text) in entries) writer.WriteEntry(File(name, text));
        return memory.ToArray();
    }

    static PaxTarEntry File(string name, string text) =>
        new(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(text)) };

    static byte[] Compress(byte[] raw, Func<Stream, Stream> wrap)
    {
        using var memory = new MemoryStream();
        using (var compressor = wrap(memory)) compressor.Write(raw);
        return memory.ToArray();
    }

    public static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
