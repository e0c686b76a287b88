// MSBuild task: copies an ELF64 shared library and marks the named symbol-version requirements weak
// (VER_FLG_WEAK in .gnu.version_r), so a library built against a newer libstdc++ still loads where the
// version is missing (TorchSharp 0.107's libLibTorchSharp.so asks GLIBCXX_3.4.32 for one unused symbol;
// Debian 12 has 3.4.30). The flag is harmless where the version exists. The source file is never edited.
// RoslynCodeTaskFactory compiles this against netstandard, hence the older APIs.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public sealed class MarkElfVersionWeak : Task
{
    [Required] public string Source { get; set; } = "";
    [Required] public string Destination { get; set; } = "";
    [Required] public string Versions { get; set; } = "";

    public override bool Execute()
    {
        if (File.Exists(Destination) && File.GetLastWriteTimeUtc(Destination) >= File.GetLastWriteTimeUtc(Source))
            return true;
        byte[] elf = File.ReadAllBytes(Source);
        int marked = Patch(elf, Versions.Split(new[] { ';' }, StringSplitOptions.RemoveEmptyEntries));
        Directory.CreateDirectory(Path.GetDirectoryName(Destination)!);
        string tmp = Destination + ".tmp" + Guid.NewGuid().ToString("N");
        File.WriteAllBytes(tmp, elf);
        if (File.Exists(Destination)) File.Delete(Destination);
        File.Move(tmp, Destination);
        Log.LogMessage(MessageImportance.Low, $"MarkElfVersionWeak: {marked} version need(s) marked weak in {Destination}");
        return true;
    }

    // Returns how many Vernaux entries were marked. Non-ELF64 input is copied unchanged.
    static int Patch(byte[] b, string[] names)
    {
        if (b.Length < 64 || b[0] != 0x7f || b[1] != (byte)'E' || b[2] != (byte)'L' || b[3] != (byte)'F' || b[4] != 2) return 0;
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A), shnum = BitConverter.ToUInt16(b, 0x3C);
        int marked = 0;
        for (int i = 0; i < shnum; i++)
        {
            long sh = shoff + (long)i * shentsize;
            if (BitConverter.ToUInt32(b, (int)sh + 4) != 0x6ffffffe) continue; // SHT_GNU_verneed
            long off = BitConverter.ToInt64(b, (int)sh + 0x18);
            int link = (int)BitConverter.ToUInt32(b, (int)sh + 0x28);
            long strOff = BitConverter.ToInt64(b, (int)(shoff + (long)link * shentsize) + 0x18);
            long vn = off;
            while (true)
            {
                int cnt = BitConverter.ToUInt16(b, (int)vn + 2);
                long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                for (int k = 0; k < cnt; k++)
                {
                    string name = CString(b, strOff + BitConverter.ToUInt32(b, (int)aux + 8));
                    if (Array.IndexOf(names, name) >= 0) { b[aux + 4] |= 0x2; marked++; } // vna_flags |= VER_FLG_WEAK
                    uint nextAux = BitConverter.ToUInt32(b, (int)aux + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = BitConverter.ToUInt32(b, (int)vn + 12);
                if (next == 0) break;
                vn += next;
            }
        }
        return marked;
    }

    static string CString(byte[] b, long at)
    {
        int end = (int)at;
        while (b[end] != 0) end++;
        return Encoding.ASCII.GetString(b, (int)at, end - (int)at);
    }
}
