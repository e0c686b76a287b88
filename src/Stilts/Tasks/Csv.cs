using System.Text;

namespace Stilts.Tasks;

/// <summary>
/// A small RFC 4180 reader (quoted fields, doubled quotes, newlines inside quotes), enough for Cosmos QA's csv.
/// Yields each record with the line it started on.
/// </summary>
internal static class Csv
{
    public static IEnumerable<(int Line, string[] Fields)> Read(string path)
    {
        if (!File.Exists(path)) throw new InvalidInputException(path, "file not found");
        return Iterate(path);

        static IEnumerable<(int, string[])> Iterate(string path)
        {
            using var reader = new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
            var fields = new List<string>();
            var field = new StringBuilder();
            int line = 1, start = 1;
            bool quoted = false, any = false, sawAny = false;
            int c;
            while ((c = reader.Read()) >= 0)
            {
                char ch = (char)c;
                sawAny = true;
                if (quoted)
                {
                    if (ch == '"')
                    {
                        if (reader.Peek() == '"') { reader.Read(); field.Append('"'); }
                        else quoted = false;
                    }
                    else { if (ch == '\n') line++; field.Append(ch); }
                    continue;
                }
                switch (ch)
                {
                    case '"' when field.Length == 0: quoted = true; any = true; break;
                    case ',': fields.Add(field.ToString()); field.Clear(); any = true; break;
                    case '\r': break;
                    case '\n':
                        if (any || field.Length > 0) { fields.Add(field.ToString()); yield return (start, [.. fields]); }
                        fields.Clear(); field.Clear(); any = false;
                        start = ++line;
                        break;
                    default: field.Append(ch); any = true; break;
                }
            }
            if (quoted) throw InvalidInputException.AtLine(path, start, "a quoted field is never closed");
            if (any || field.Length > 0) { fields.Add(field.ToString()); yield return (start, [.. fields]); }
            if (!sawAny) throw new InvalidInputException(path, "the file is empty");
        }
    }
}
