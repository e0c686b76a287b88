using System.Formats.Tar;
using System.IO.Compression;
using ICSharpCode.SharpZipLib.BZip2;

namespace Stilts.Data.Download;

public enum ArchiveKind { None, Zip, Tar, TarGz, TarBz2 }

/// <summary>
/// Unpacks zip, tar, tar.gz and tar.bz2 (bzip2 through SharpZipLib, which TorchSharp already brings in). Every entry
/// must land inside the destination: absolute names, ".." escapes and links pointing outside are refused before
/// anything is written for that entry.
/// </summary>
public static class ArchiveExtractor
{
    public static ArchiveKind Detect(string path)
    {
        string name = Path.GetFileName(path).ToLowerInvariant();
        if (name.EndsWith(".zip")) return ArchiveKind.Zip;
        if (name.EndsWith(".tar.gz") || name.EndsWith(".tgz")) return ArchiveKind.TarGz;
        if (name.EndsWith(".tar.bz2") || name.EndsWith(".tbz2")) return ArchiveKind.TarBz2;
        if (name.EndsWith(".tar")) return ArchiveKind.Tar;
        return ArchiveKind.None;
    }

    /// <param name="include">Entry names (archive-relative, '/'-separated) to extract; null extracts everything.</param>
    public static void Extract(string archive, string destination, Func<string, bool>? include = null)
    {
        include ??= _ => true;
        string root = Path.GetFullPath(destination);
        Directory.CreateDirectory(root);
        switch (Detect(archive))
        {
            case ArchiveKind.Zip: ExtractZip(archive, root, include); break;
            case ArchiveKind.Tar: { using var s = File.OpenRead(archive); ExtractTar(s, archive, root, include); break; }
            case ArchiveKind.TarGz: { using var s = new GZipStream(File.OpenRead(archive), CompressionMode.Decompress); ExtractTar(s, archive, root, include); break; }
            case ArchiveKind.TarBz2: { using var s = new BZip2InputStream(File.OpenRead(archive)); ExtractTar(s, archive, root, include); break; }
            default: throw new InvalidInputException(archive, "not an archive this tool unpacks (.zip, .tar, .tar.gz/.tgz, .tar.bz2)");
        }
    }

    static void ExtractZip(string archive, string root, Func<string, bool> include)
    {
        using var zip = ZipFile.OpenRead(archive);
        foreach (var entry in zip.Entries)
        {
            if (!include(entry.FullName.Replace('\\', '/'))) continue;
            string target = Inside(root, entry.FullName, archive);
            if (entry.FullName.EndsWith('/') || entry.FullName.EndsWith('\\')) { Directory.CreateDirectory(target); continue; }
            // Unix symlinks in zips (mode 0120000 in the high external attribute bits) would be written as small
            // files holding the link text; refuse them instead of guessing.
            if (((entry.ExternalAttributes >> 16) & 0xF000) == 0xA000)
                throw new InvalidInputException($"{archive}: {entry.FullName}", "symbolic links inside zip archives are not extracted");
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            entry.ExtractToFile(target, overwrite: true);
        }
    }

    static void ExtractTar(Stream stream, string archive, string root, Func<string, bool> include)
    {
        using var reader = new TarReader(stream);
        var deferredLinks = new List<(string Path, string Target)>();
        TarEntry? entry;
        while ((entry = reader.GetNextEntry()) != null)
        {
            if (!include(entry.Name.Replace('\\', '/'))) continue;
            string target = Inside(root, entry.Name, archive);
            switch (entry.EntryType)
            {
                case TarEntryType.Directory:
                    Directory.CreateDirectory(target);
                    break;
                case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    using (var output = File.Create(target)) entry.DataStream?.CopyTo(output);
                    break;
                case TarEntryType.SymbolicLink:
                {
                    string linkTarget = Path.IsPathRooted(entry.LinkName) ? entry.LinkName
                        : Path.Combine(Path.GetDirectoryName(target)!, entry.LinkName);
                    Inside(root, Path.GetRelativePath(root, Path.GetFullPath(linkTarget)), $"{archive}: link {entry.Name}");
                    deferredLinks.Add((target, entry.LinkName));
                    break;
                }
                case TarEntryType.HardLink:
                {
                    string source = Inside(root, entry.LinkName, $"{archive}: link {entry.Name}");
                    Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                    File.Copy(source, target, overwrite: true);
                    break;
                }
                default:
                    break;   // devices, fifos and the like have no place in a data set
            }
        }
        // Links are made last so no later entry can be written through one.
        foreach (var (path, linkTarget) in deferredLinks)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            if (File.Exists(path) || Directory.Exists(path)) File.Delete(path);
            File.CreateSymbolicLink(path, linkTarget);
        }
    }

    /// <summary>The full path of an archive entry, or an error naming it when it would fall outside root.</summary>
    static string Inside(string root, string entryName, string where)
    {
        string name = entryName.Replace('\\', '/');
        if (name.Length == 0 || name.StartsWith('/') || Path.IsPathRooted(name))
            throw new InvalidInputException($"{where}: {entryName}", "absolute paths are refused in archives");
        string full = Path.GetFullPath(Path.Combine(root, name));
        string rootWithSep = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        if (full != root && !full.StartsWith(rootWithSep, StringComparison.Ordinal))
            throw new InvalidInputException($"{where}: {entryName}", $"entry would be written outside {root}; refused");
        return full;
    }
}
