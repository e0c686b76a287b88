using System.Text;

namespace Stilts.Bench;

/// <summary>
/// A seeded generator of varied multilingual lines for the tokenizer comparison: several scripts (Latin with
/// accents, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Thai, CJK, Hangul), digits, dates, punctuation, mixed case
/// and occasional code-switching. The word lists are our own; the same seed always gives the same corpus.
/// </summary>
public static class MultilingualCorpus
{
    sealed record Language(string Name, string[] Words, bool Spaced);

    static readonly Language[] Languages =
    [
        new("en", "the river morning window quickly bright garden market answer however teacher yesterday children library mountain without question simple travel evening".Split(' '), true),
        new("fr", "le la maison été très déjà français élève garçon forêt où naïve cœur fenêtre bientôt après château hôpital être s'il".Split(' '), true),
        new("de", "der die und Straße schön Mädchen über Größe fünf Bäume müssen Frühstück heißen Brücke Übung zwölf außerdem Gemüse".Split(' '), true),
        new("es", "el niño mañana corazón canción también ¿dónde está? ¡qué! árbol pequeño según jamás pingüino acción últimos".Split(' '), true),
        new("pt", "não coração ação pão irmã você também avó lições órgão pêssego família cidade através".Split(' '), true),
        new("vi", "tiếng Việt người nước học sinh thành phố cảm ơn được những đường phở ngày mai".Split(' '), true),
        new("tr", "güzel çiçek şehir ılık öğretmen değil İstanbul ağaç kırmızı gökyüzü çocuklar".Split(' '), true),
        new("pl", "zażółć gęślą jaźń łódź świat księżyc pięć dziękuję źródło mówić".Split(' '), true),
        new("ru", "привет мир сегодня хорошая погода город книга учитель дорога весна ёлка объявление съезд".Split(' '), true),
        new("el", "καλημέρα θάλασσα ελληνικά ουρανός δάσκαλος βιβλίο πόλη ευχαριστώ ψυχή".Split(' '), true),
        new("ar", "مرحبا العالم كتاب المدرسة السماء جميل شكرا مدينة القمر الطريق".Split(' '), true),
        new("he", "שלום עולם ספר בית ספר ירושלים תודה שמש ילדים".Split(' '), true),
        new("hi", "नमस्ते दुनिया किताब विद्यालय धन्यवाद शहर पानी आज कल हिन्दी".Split(' '), true),
        new("th", "สวัสดี ภาษาไทย โรงเรียน ขอบคุณ ทะเล เมือง หนังสือ วันนี้".Split(' '), false),
        new("zh", "我们 今天 天气 很好 学校 图书馆 中国 语言 朋友 吃饭 北京 学习".Split(' '), false),
        new("ja", "こんにちは 東京 日本語 ありがとう 学校 カタカナ 桜 電車 今日 食べます".Split(' '), false),
        new("ko", "안녕하세요 한국어 학교 감사합니다 서울 사랑 오늘 친구 바다".Split(' '), true),
    ];

    static readonly string[] Punctuation = [",", ".", "!", "?", ";", ":", "—", "(", ")", "\"", "«", "»", "…", "/", "%", "&", "-", "'"];

    /// <summary>Yields <paramref name="lines"/> lines (no newlines inside a line, never empty).</summary>
    public static IEnumerable<string> Generate(int lines, int seed = 1234)
    {
        var random = new Random(seed);
        var sb = new StringBuilder();
        for (int i = 0; i < lines; i++)
        {
            sb.Clear();
            var language = Languages[random.Next(Languages.Length)];
            int words = random.Next(4, 26);
            for (int w = 0; w < words; w++)
            {
                // Mostly one language per line, sometimes a word from another (code-switching).
                var from = random.NextDouble() < 0.08 ? Languages[random.Next(Languages.Length)] : language;
                if (w > 0 && (from.Spaced || random.NextDouble() < 0.2)) sb.Append(' ');
                double roll = random.NextDouble();
                if (roll < 0.07) sb.Append(Number(random));
                else if (roll < 0.12) sb.Append(Punctuation[random.Next(Punctuation.Length)]);
                else
                {
                    string word = from.Words[random.Next(from.Words.Length)];
                    if (w == 0 || random.NextDouble() < 0.05) word = char.ToUpperInvariant(word[0]) + word[1..];
                    sb.Append(word);
                }
            }
            sb.Append(Punctuation[random.Next(4)]);
            yield return sb.ToString();
        }
    }

    static string Number(Random random) => random.Next(5) switch
    {
        0 => random.Next(0, 100).ToString(),
        1 => random.Next(1000, 100_000).ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
        2 => $"{random.Next(1, 29):00}.{random.Next(1, 13):00}.{random.Next(1950, 2030)}",
        3 => (random.NextDouble() * 1000).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture),
        _ => $"+{random.Next(1, 99)} {random.Next(100, 999)}-{random.Next(1000, 9999)}",
    };
}
