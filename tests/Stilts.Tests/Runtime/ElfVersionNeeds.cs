using System.Text;

namespace Stilts.Tests.Runtime;

// Reads the vna_flags of one symbol-version requirement in an ELF64 file (test-side check of the build patch).
static class ElfVersionNeeds
{
    public static bool IsWeak(byte[] b, string version)
    {
        long shoff = BitConverter.ToInt64(b, 0x28);
        int shentsize = BitConverter.ToUInt16(b, 0x3A), shnum = BitConverter.ToUInt16(b, 0x3C);
        for (int i = 0; i < shnum; i++)
        {
            int sh = (int)(shoff + (long)i * shentsize);
            if (BitConverter.ToUInt32(b, sh + 4) != 0x6ffffffe) continue;
            long vn = BitConverter.ToInt64(b, sh + 0x18);
            int link = (int)BitConverter.ToUInt32(b, sh + 0x28);
            long str = BitConverter.ToInt64(b, (int)(shoff + (long)link * shentsize) + 0x18);
            while (true)
            {
                long aux = vn + BitConverter.ToUInt32(b, (int)vn + 8);
                for (int k = 0, n = BitConverter.ToUInt16(b, (int)vn + 2); k < n; k++)
                {
                    int at = (int)(str + BitConverter.ToUInt32(b, (int)aux + 8)), end = at;
                    while (b[end] != 0) end++;
                    if (Encoding.ASCII.GetString(b, at, end - at) == version) return (b[aux + 4] & 2) != 0;
                    aux += BitConverter.ToUInt32(b, (int)aux + 12);
                }
                uint next = BitConverter.ToUInt32(b, (int)vn + 12);
                if (next == 0) return false;
                vn += next;
            }
        }
        return false;
    }
}
