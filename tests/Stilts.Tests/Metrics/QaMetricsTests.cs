using Stilts.Metrics;

namespace Stilts.Tests.Metrics;

public sealed class QaMetricsTests
{
    static readonly AnswerNormalizer Squad = AnswerNormalizer.Squad;

    [Theory]
    [InlineData("The Eiffel Tower!", "eiffel tower")]
    [InlineData("  an   apple,  a pear ", "apple pear")]
    [InlineData("theater", "theater")] // articles only as whole words
    [InlineData("¿Dónde está el perro?", "¿dónde está el perro")] // only ASCII punctuation, only English articles
    [InlineData("Hello\u2014world", "hello\u2014world")]
    [InlineData("ΟΔΟΣ.", "οδος")] // Python's lower() applies the final-sigma rule
    [InlineData("İstanbul", "i\u0307stanbul")] // and the full mapping of dotted capital I
    [InlineData("the\u00B2 x", "the\u00B2 x")] // '²' is alphanumeric for Python's \b, so no boundary after "the"
    [InlineData("the\u0301 x", "\u0301 x")] // a combining mark is not, so "the" goes
    [InlineData("a\u001Cb", "b")] // U+001C is whitespace to str.split() and a word boundary
    public void SquadNormalizationMatchesTheOfficialScript(string text, string expected) =>
        Assert.Equal(expected, Squad.Normalize(text));

    [Fact]
    public void SquadV11ScoresMaxOverGoldsAndCountsUnansweredQuestions()
    {
        QaQuestion[] questions =
        [
            new("q1", ["The Eiffel Tower", "Eiffel Tower in Paris"]),
            new("q2", ["a big red dog"]),
            new("q3", ["an answer"]),
            new("q4", ["the"]),
        ];
        var predictions = new Dictionary<string, string> { ["q1"] = "eiffel tower!", ["q2"] = "the red cat", ["q4"] = "a" };
        var score = QaMetrics.Evaluate(questions, predictions, Squad);

        // q1: EM 1, F1 1. q2: {red} common of [red, cat] vs [big, red, dog]: P 1/2, R 1/3, F1 0.4. q3: unanswered, 0.
        // q4: both normalise to nothing: EM 1 but F1 0 (no common token).
        Assert.Equal(4, score.Total);
        Assert.Equal(3, score.Answered);
        Assert.Equal(50.0, score.ExactMatch, 12);
        Assert.Equal(35.0, score.F1, 12);
        Assert.Equal(42.5, score.Mean, 12); // the (EM + F1) / 2 XTREME uses per QA task
    }

    [Fact]
    public void MlqaNormaliserDiffersFromSquadOnUnicodePunctuationAndSpanishArticles()
    {
        var es = AnswerNormalizer.Mlqa("es");
        Assert.Equal("dónde está perro", es.Normalize("¿Dónde está el perro?"));
        Assert.True(QaMetrics.ExactMatch("dónde está perro", "¿Dónde está el perro?", es));
        Assert.Equal(1.0, QaMetrics.F1("dónde está perro", "¿Dónde está el perro?", es));
        Assert.False(QaMetrics.ExactMatch("dónde está perro", "¿Dónde está el perro?", Squad));
        // 2 common of 3 vs 4 tokens: the official script prints 0.5714285714285715 (one ulp above 4/7); so do we.
        Assert.Equal(0.5714285714285715, QaMetrics.F1("dónde está perro", "¿Dónde está el perro?", Squad));
        Assert.Equal("helloworld", AnswerNormalizer.Mlqa("en").Normalize("Hello\u2014world"));
    }

    [Fact]
    public void MlqaChineseUsesMixedSegmentation()
    {
        var zh = AnswerNormalizer.Mlqa("zh");
        Assert.Equal(["gpt", "模", "型", "abc", "def", "北", "京"], zh.Tokens("GPT模型abc def，北京"));
        // 北京 vs 北京大学: 2 of 4 characters; whitespace tokenisation (SQuAD) would see two different single tokens.
        Assert.Equal(2.0 / 3.0, QaMetrics.F1("北京", "北京大学", zh), 15);
        Assert.Equal(0.0, QaMetrics.F1("北京", "北京大学", Squad));
    }

    [Fact]
    public void MlqaPerLanguageArticles()
    {
        Assert.Equal("hund und katze", AnswerNormalizer.Mlqa("de").Normalize("Der Hund und die Katze"));
        Assert.Equal("con chó tôi", AnswerNormalizer.Mlqa("vi").Normalize("con chó của tôi"));
        // Arabic: every alef-lam pair becomes a space, also inside a word (قال → ق).
        Assert.Equal("كتاب ق", AnswerNormalizer.Mlqa("ar").Normalize("الكتاب قال"));
        Assert.Equal("the house", AnswerNormalizer.Mlqa("hi").Normalize("The house"));
        Assert.Throws<ArgumentException>(() => AnswerNormalizer.Mlqa("fr"));
    }

    [Fact]
    public void SquadV2BreaksDownHasAnsNoAnsAndSearchesTheNoAnswerThreshold()
    {
        QaQuestion[] questions =
        [
            new("q1", ["Paris"]),
            new("q2", []),
            new("q3", ["blue sky"]),
            new("q4", []),
        ];
        var predictions = new Dictionary<string, string> { ["q1"] = "Paris", ["q2"] = "", ["q3"] = "sky", ["q4"] = "something" };
        var naProbs = new Dictionary<string, double> { ["q1"] = 0.1, ["q2"] = 0.9, ["q3"] = 0.4, ["q4"] = 0.3 };
        var s = SquadV2.Evaluate(questions, predictions, naProbs);

        // Raw: exact 1,1,0,0; F1 1, 1 (both empty agree), 2/3 ([sky] vs [blue, sky]), 0.
        Assert.Equal(50.0, s.Exact, 12);
        Assert.Equal(100.0 * (1 + 1 + 2.0 / 3.0) / 4, s.F1, 12);
        Assert.Equal(50.0, s.HasAnsExact!.Value, 12);
        Assert.Equal(100.0 * (1 + 2.0 / 3.0) / 2, s.HasAnsF1!.Value, 12);
        Assert.Equal(50.0, s.NoAnsExact!.Value, 12);
        Assert.Equal(50.0, s.NoAnsF1!.Value, 12);
        // Start at 2 (abstain on the two no-answer questions); by P(no answer): q1 +1 → 3 (best, threshold 0.1),
        // q4 answers a no-answer question -1, q3 +0 / +2/3, q2 empty prediction 0.
        Assert.Equal(75.0, s.BestExact!.Value, 12);
        Assert.Equal(0.1, s.BestExactThreshold!.Value);
        Assert.Equal(75.0, s.BestF1!.Value, 12);
        Assert.Equal(0.1, s.BestF1Threshold!.Value);

        // At threshold 0.35, q2 (0.9) and q3 (0.4) are predicted no-answer: q2 right (1), q3 wrong (0).
        var t = SquadV2.Evaluate(questions, predictions, naProbs, 0.35);
        Assert.Equal(50.0, t.Exact, 12);
        Assert.Equal(50.0, t.F1, 12);
    }

    [Fact]
    public void SquadV2F1GivesCreditForAgreeingOnNoAnswer()
    {
        Assert.Equal(1.0, SquadV2.F1("", "the"));
        Assert.Equal(0.0, SquadV2.F1("a", "Paris"));
        Assert.Equal(0.0, QaMetrics.F1("", "", Squad)); // v1.1 gives 0 here
    }
}
