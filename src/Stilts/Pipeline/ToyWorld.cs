using System.Text;
using Stilts.Tasks;

namespace Stilts.Pipeline;

public enum WordOrder { Svo, Sov, Vso }

/// <summary>How one synthetic language writes the shared latent grammar: its own word forms, order and script.</summary>
public sealed record ToyLanguage(
    string Code, string Script, WordOrder Order, bool AdjectiveAfterNoun, bool NegationAfterVerb,
    IReadOnlyDictionary<string, string> Lexicon)
{
    public string Word(string concept) => Lexicon[concept];
}

public sealed record ToyWorldOptions
{
    public int Seed { get; init; } = 1;
    /// <summary>Pair-classification (NLI-like) training examples, English only.</summary>
    public int NliTrain { get; init; } = 2000;
    /// <summary>Sentence-classification (sentiment) training sentences, English only.</summary>
    public int SentimentTrain { get; init; } = 2000;
    /// <summary>Tagging training sentences, English only.</summary>
    public int PosTrain { get; init; } = 2000;
    /// <summary>Dev and test examples per language and task.</summary>
    public int DevSize { get; init; } = 200;
    public int TestSize { get; init; } = 400;
    /// <summary>MLM corpus sentences per language.</summary>
    public int CorpusSize { get; init; } = 4000;
    /// <summary>Share of a made-up language's corpus sentences that mix in English words, and the share of words switched in those.</summary>
    public double CodeSwitchSentences { get; init; } = 0.5;
    /// <summary>Share of a made-up language's corpus lines that are a sentence followed by its English translation.</summary>
    public double ParallelSentences { get; init; } = 0.3;
    public double CodeSwitchWords { get; init; } = 0.5;
    /// <summary>Share of content words a made-up language writes as in English (loanwords).</summary>
    public double LoanwordRate { get; init; } = 0.6;
}

/// <summary>
/// A generated multilingual toy world for the quickstart and the tests. Five languages share one latent grammar
/// (events "subject verb object", noun phrases with a determiner and adjectives, negation) and one concept
/// inventory, but each writes it with its own word forms, word order and script: "en" uses English words, the others
/// made-up forms in Latin, Cyrillic, Greek and Canadian-syllabics letters. Person names and some loanwords are shared
/// by all languages, the way names, numbers and borrowings are shared by real ones: anchors transfer can use.
/// Everything is a pure function of the seed. <see cref="Write"/> lays it out like the xtreme data
/// (<c>toynli/{train-en,dev-xx,test-xx}.tsv</c> as XNLI, <c>toypos/...</c> as UD-POS, <c>toysent/...</c> as
/// "sentence 	 positive|negative", with labels in the test files),
/// <c>mlm/&lt;lang&gt;.txt</c> corpora, and a word-level BERT <c>vocab.txt</c>.
/// </summary>
public sealed class ToyWorld
{
    public static readonly string[] NliLabels = ["contradiction", "entailment", "neutral"];
    public static readonly string[] PosTags = ["DET", "ADJ", "NOUN", "PROPN", "VERB", "PART"];
    public static IReadOnlyList<string> SentimentLabels => ToySentiment.Labels;
    /// <summary>Verbs of positive valence; the other half are negative. A negated sentence flips its verb's valence.</summary>
    static readonly HashSet<string> PositiveVerbs = ["likes", "helps", "finds", "visits", "calls", "paints"];

    static readonly string[] Names = ["ana", "boris", "chen", "dara", "emil", "farah", "goran", "hana", "ivo", "jun", "kemal", "lena"];
    static readonly string[] Nouns = ["dog", "cat", "bird", "horse", "child", "teacher", "farmer", "doctor", "king", "river", "house", "tree",
        "boat", "book", "song", "apple", "stone", "road", "city", "garden", "window", "letter", "friend", "wolf"];
    static readonly string[] Verbs = ["sees", "likes", "finds", "follows", "paints", "helps", "carries", "visits", "hears", "builds", "fears", "calls"];
    static readonly string[] Adjectives = ["big", "small", "old", "young", "red", "green", "quiet", "happy", "dark", "bright"];

    public IReadOnlyList<ToyLanguage> Languages { get; }
    public ToyWorldOptions Options { get; }

    ToyWorld(ToyWorldOptions options, IReadOnlyList<ToyLanguage> languages) => (Options, Languages) = (options, languages);

    public static ToyWorld Generate(ToyWorldOptions? options = null)
    {
        options ??= new ToyWorldOptions();
        var rng = Xoshiro256.Derive(options.Seed, Xoshiro256.Key("lexicon"));
        var used = new HashSet<string>(Names.Concat(Nouns).Concat(Verbs).Concat(Adjectives).Append("the").Append("not"));
        var english = new Dictionary<string, string> { ["DET"] = "the", ["NEG"] = "not" };
        foreach (var w in Nouns.Concat(Verbs).Concat(Adjectives)) english[w] = w;
        var languages = new List<ToyLanguage> { new("en", "latin", WordOrder.Svo, false, false, english) };
        // (code, script, syllable onsets, vowels, order, adjective after noun, negation after verb)
        (string Code, string Script, string Onsets, string Vowels, WordOrder Order, bool AdjAfter, bool NegAfter)[] made =
        [
            ("la", "latin", "bdgkmnprstvz", "aeiou", WordOrder.Sov, true, false),
            ("cy", "cyrillic", "бвгдклмнпрст", "аеиоу", WordOrder.Vso, false, true),
            ("gr", "greek", "βγδκλμνπρστ", "αεικου", WordOrder.Svo, true, true),
            ("sy", "syllabics", "", "", WordOrder.Sov, false, false),
        ];
        foreach (var spec in made)
        {
            var lexicon = new Dictionary<string, string>();
            foreach (var concept in new[] { "DET", "NEG" }.Concat(Nouns).Concat(Verbs).Concat(Adjectives))
            {
                // Loanwords: some content words are written as in English, in every script (as brand names and
                // borrowed terms are): the shared vocabulary that multilingual models also lean on.
                // The negation particle is shared too (as "no"/"non"/"не" resemble each other across many languages):
                // it flips the sentiment label, so a language whose negation the model cannot read is unlearnable.
                if (concept == "NEG" || (concept != "DET" && rng.NextDouble() < options.LoanwordRate)) { lexicon[concept] = english[concept]; continue; }
                int syllables = concept is "DET" or "NEG" ? 1 : 2 + rng.Next(2);
                string form;
                do form = spec.Script == "syllabics" ? Syllabics(rng, syllables) : Latinish(rng, spec.Onsets, spec.Vowels, syllables);
                while (!used.Add(form));
                lexicon[concept] = form;
            }
            languages.Add(new ToyLanguage(spec.Code, spec.Script, spec.Order, spec.AdjAfter, spec.NegAfter, lexicon));
        }
        return new ToyWorld(options, languages);
    }

    static string Latinish(Xoshiro256 rng, string onsets, string vowels, int syllables)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < syllables; i++) sb.Append(onsets[rng.Next(onsets.Length)]).Append(vowels[rng.Next(vowels.Length)]);
        return sb.ToString();
    }

    // Unified Canadian Aboriginal Syllabics: each letter is a whole syllable, and the block has no case (so BERT's
    // lower-casing and accent stripping leave it alone).
    static string Syllabics(Xoshiro256 rng, int syllables)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < syllables + 1; i++) sb.Append((char)(0x1401 + rng.Next(0x1660 - 0x1401)));
        return sb.ToString();
    }

    /// <summary>A latent noun phrase (a name, or det + adjectives + noun) and event.</summary>
    public sealed record Phrase(string? Name, string? Noun, string[] Adjectives);
    public sealed record Event(Phrase Subject, string Verb, Phrase Object, bool Negated);

    // Selectional preferences give the shared latent world a distributional structure (verb i mostly takes certain
    // subjects and objects, nouns mostly certain adjectives), identical in every language. Without it no context
    // would tell words apart, and MLM could not learn what a word means, nor align it with its translations.
    const double Preference = 0.85;

    Phrase RandomPhrase(Xoshiro256 rng, int verb, bool subject, bool allowNames = true)
    {
        bool typical = rng.NextDouble() < Preference;
        if (allowNames && rng.NextDouble() < 0.35)
            return new Phrase(typical ? Names[(2 * verb + rng.Next(2) + (subject ? 0 : 6)) % Names.Length] : Names[rng.Next(Names.Length)], null, []);
        int noun = typical ? (2 * verb + rng.Next(4) + (subject ? 12 : 0)) % Nouns.Length : rng.Next(Nouns.Length);
        int adjectives = rng.NextDouble() < 0.5 ? 0 : rng.NextDouble() < 0.7 ? 1 : 2;
        var adj = new List<string>();
        while (adj.Count < adjectives)
        {
            var a = rng.NextDouble() < Preference ? Adjectives[(noun + rng.Next(3)) % Adjectives.Length] : Adjectives[rng.Next(Adjectives.Length)];
            if (!adj.Contains(a)) adj.Add(a);
        }
        return new Phrase(null, Nouns[noun], [.. adj]);
    }

    Phrase RandomPhrase(Xoshiro256 rng) => RandomPhrase(rng, rng.Next(Verbs.Length), rng.NextDouble() < 0.5);

    Event RandomEvent(Xoshiro256 rng, double negated, bool allowNames = true)
    {
        int verb = rng.Next(Verbs.Length);
        return new(RandomPhrase(rng, verb, true, allowNames), Verbs[verb], RandomPhrase(rng, verb, false, allowNames), rng.NextDouble() < negated);
    }

    /// <summary>
    /// The words of an event in one language, each with its gold tag. With <paramref name="switchTo"/>, each concept
    /// word is written in that language instead with probability <paramref name="rate"/> (code-switching, keeping
    /// <paramref name="lang"/>'s word order).
    /// </summary>
    public static List<(string Word, string Tag)> Render(ToyLanguage lang, Event e, ToyLanguage? switchTo = null, Xoshiro256? rng = null, double rate = 0)
    {
        string W(string concept) => switchTo != null && rng!.NextDouble() < rate ? switchTo.Word(concept) : lang.Word(concept);
        List<(string, string)> NounPhrase(Phrase p)
        {
            if (p.Name != null) return [(p.Name, "PROPN")];
            var adjs = p.Adjectives.Select(a => (W(a), "ADJ")).ToList();
            var np = new List<(string, string)> { (W("DET"), "DET") };
            if (!lang.AdjectiveAfterNoun) np.AddRange(adjs);
            np.Add((W(p.Noun!), "NOUN"));
            if (lang.AdjectiveAfterNoun) np.AddRange(adjs);
            return np;
        }
        var verb = new List<(string, string)> { (W(e.Verb), "VERB") };
        if (e.Negated) verb.Insert(lang.NegationAfterVerb ? 1 : 0, (W("NEG"), "PART"));
        var s = NounPhrase(e.Subject);
        var o = NounPhrase(e.Object);
        return lang.Order switch
        {
            WordOrder.Svo => [.. s, .. verb, .. o],
            WordOrder.Sov => [.. s, .. o, .. verb],
            _ => [.. verb, .. s, .. o],
        };
    }

    public static string Sentence(ToyLanguage lang, Event e) => string.Join(' ', Render(lang, e).Select(w => w.Word));

    /// <summary>
    /// One NLI pair from the latent semantics. Entailment: the same event with fewer adjectives. Contradiction: the
    /// same event negated. Neutral: the premise's subject doing something the premise does not say (another verb or
    /// object, or an adjective the premise lacks).
    /// </summary>
    (Event Premise, Event Hypothesis, int Label) RandomPair(Xoshiro256 rng)
    {
        var p = RandomEvent(rng, 0);
        int label = rng.Next(3);
        Phrase Drop(Phrase x) => x.Name != null ? x : x with { Adjectives = x.Adjectives.Where(_ => rng.NextDouble() < 0.5).ToArray() };
        Event h = label switch
        {
            1 => p with { Subject = Drop(p.Subject), Object = Drop(p.Object) },
            0 => p with { Subject = Drop(p.Subject), Object = Drop(p.Object), Negated = true },
            _ => Neutral(p, rng),
        };
        return (p, h, label);
    }

    // Neutral hypotheses always carry a concept the premise never mentions, so "not entailed" is decidable.
    Event Neutral(Event p, Xoshiro256 rng)
    {
        var said = Concepts(p).ToHashSet();
        while (true)
        {
            var h = rng.Next(3) switch
            {
                0 => p with { Verb = Verbs[rng.Next(Verbs.Length)] },
                1 => p with { Object = RandomPhrase(rng) },
                _ => p.Object.Noun == null ? p with { Object = RandomPhrase(rng) }
                    : p with { Object = p.Object with { Adjectives = [.. p.Object.Adjectives, Adjectives[rng.Next(Adjectives.Length)]] } },
            };
            if (Concepts(h).Any(c => !said.Contains(c))) return h;
        }
    }

    static IEnumerable<string> Concepts(Event e) =>
        new[] { e.Subject, e.Object }.SelectMany(p => p.Adjectives.Append(p.Name ?? p.Noun!)).Append(e.Verb);

    /// <summary>Writes the data, corpora and vocab.txt under <paramref name="folder"/> (each file atomically).</summary>
    public void Write(string folder)
    {
        var en = Languages[0];
        WriteNli(Path.Combine(folder, "toynli", "train-en.tsv"), en, Options.NliTrain, "nli-train");
        WriteSentiment(Path.Combine(folder, "toysent", "train-en.tsv"), en, Options.SentimentTrain, "sent-train");
        WritePos(Path.Combine(folder, "toypos", "train-en.tsv"), en, Options.PosTrain, "pos-train");
        foreach (var lang in Languages)
        {
            WriteNli(Path.Combine(folder, "toynli", $"dev-{lang.Code}.tsv"), lang, Options.DevSize, "nli-dev");
            WriteNli(Path.Combine(folder, "toynli", $"test-{lang.Code}.tsv"), lang, Options.TestSize, "nli-test");
            WriteSentiment(Path.Combine(folder, "toysent", $"dev-{lang.Code}.tsv"), lang, Options.DevSize, "sent-dev");
            WriteSentiment(Path.Combine(folder, "toysent", $"test-{lang.Code}.tsv"), lang, Options.TestSize, "sent-test");
            WritePos(Path.Combine(folder, "toypos", $"dev-{lang.Code}.tsv"), lang, Options.DevSize, "pos-dev");
            WritePos(Path.Combine(folder, "toypos", $"test-{lang.Code}.tsv"), lang, Options.TestSize, "pos-test");
            AtomicFile.WriteAllText(Path.Combine(folder, "mlm", $"{lang.Code}.txt"), string.Join('\n', Corpus(lang.Code)) + "\n");
        }
        AtomicFile.WriteAllText(Path.Combine(folder, "vocab.txt"), string.Join('\n', Vocabulary()) + "\n");
    }

    // Dev/test draw the same latent examples in every language (keyed by split, not language), like XNLI's
    // translated dev/test sets, so per-language scores are comparable.
    void WriteNli(string path, ToyLanguage lang, int count, string split)
    {
        var rng = Xoshiro256.Derive(Options.Seed, Xoshiro256.Key(split));
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            var (p, h, label) = RandomPair(rng);
            sb.Append(Sentence(lang, p)).Append('\t').Append(Sentence(lang, h)).Append('\t').Append(NliLabels[label]).Append('\n');
        }
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    /// <summary>Sentiment of an event: its verb's valence, flipped by negation (decided by meaning, not by any word form).</summary>
    public static string Sentiment(Event e) => SentimentLabels[PositiveVerbs.Contains(e.Verb) ^ e.Negated ? 1 : 0];

    void WriteSentiment(string path, ToyLanguage lang, int count, string split)
    {
        var rng = Xoshiro256.Derive(Options.Seed, Xoshiro256.Key(split));
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            // No person names here: names are shared by all languages, and with the verb preferences they would
            // give the label away in every language without any transfer.
            var e = RandomEvent(rng, 0.3, allowNames: false);
            sb.Append(Sentence(lang, e)).Append('\t').Append(Sentiment(e)).Append('\n');
        }
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    void WritePos(string path, ToyLanguage lang, int count, string split)
    {
        var rng = Xoshiro256.Derive(Options.Seed, Xoshiro256.Key(split));
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++)
        {
            foreach (var (word, tag) in Render(lang, RandomEvent(rng, 0.3))) sb.Append(word).Append('\t').Append(tag).Append('\n');
            sb.Append('\n');
        }
        AtomicFile.WriteAllText(path, sb.ToString());
    }

    /// <summary>BERT special tokens, then every word of every language (whole words: WordPiece never needs to split them).</summary>
    public IReadOnlyList<string> Vocabulary()
    {
        var words = new List<string> { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", ".", "," };
        words.AddRange(Names);
        foreach (var lang in Languages)
            foreach (var form in lang.Lexicon.Values)
                if (!words.Contains(form)) words.Add(form);
        return words;
    }

    /// <summary>
    /// All MLM corpus lines of one language, as <see cref="Write"/> writes them. In the made-up languages some lines
    /// are code-switched with English (some words written in English, the language's own order kept) and some are a
    /// sentence followed by its English translation (parallel text, as XLM's TLM uses): the cross-lingual signal a
    /// multilingual MLM can align the vocabularies on, and which English-only pretraining never sees.
    /// </summary>
    public IEnumerable<string> Corpus(string language)
    {
        var lang = Languages.Single(l => l.Code == language);
        var rng = Xoshiro256.Derive(Options.Seed, Xoshiro256.Key("corpus"), Xoshiro256.Key(lang.Code));
        var english = lang.Code == "en" ? null : Languages[0];
        for (int i = 0; i < Options.CorpusSize; i++)
        {
            var e = RandomEvent(rng, 0.3);
            double kind = rng.NextDouble();
            if (english != null && kind < Options.ParallelSentences)
                yield return Sentence(lang, e) + " " + Sentence(english, e); // a translation pair on one line (XLM's TLM)
            else if (english != null && kind < Options.ParallelSentences + Options.CodeSwitchSentences)
                yield return string.Join(' ', Render(lang, e, english, rng, Options.CodeSwitchWords).Select(w => w.Word));
            else
                yield return Sentence(lang, e);
        }
    }
}
