using Stilts.Tasks.Featurization;

namespace Stilts.Tests.Featurization;

public class SpanQaTests
{
    // Irregular spacing on purpose: answers must be sliced from the original text, spaces and all.
    const string Context = "  Alpha beta  gamma delta epsilon zeta eta theta iota   kappa";
    static readonly int EtaTheta = Context.IndexOf(" eta theta", StringComparison.Ordinal) + 1;

    // Question "which letter" = 2 tokens; BERT pair specials = 3; so 9 tokens leave 4 context tokens per window.
    static readonly SpanQaOptions Small = new() { MaxLength = 9, DocStride = 2, MaxQueryLength = 8 };

    [Fact]
    public void Windows_advance_by_doc_stride_until_the_end_is_covered()
    {
        Assert.Equal([(0, 4), (2, 4), (4, 4), (6, 4)], SpanQaFeaturizer.Windows(10, 4, 2));
        Assert.Equal([(0, 4), (4, 4), (8, 1)], SpanQaFeaturizer.Windows(9, 4, 10));
        Assert.Equal([(0, 0)], SpanQaFeaturizer.Windows(0, 4, 2));
    }

    [Theory]
    [InlineData(ToyLayout.Bert, 9)]
    [InlineData(ToyLayout.XlmR, 10)]
    public void Answer_maps_to_tokens_in_covering_windows_and_cls_elsewhere(ToyLayout layout, int maxLength)
    {
        var tok = new ToyTokenizer(layout);
        var features = SpanQaFeaturizer.Featurize(tok, 3, "which letter", Context, EtaTheta, "eta theta",
            Small with { MaxLength = maxLength }, training: true);
        Assert.Equal(4, features.Count);
        Assert.All(features, f => Assert.True(f.InputIds.Length <= maxLength));
        Assert.All(features, f => Assert.Equal(3, f.ExampleIndex));
        Assert.All(features, f => Assert.Equal(0, f.ClsIndex));
        // Windows 0 and 1 cover tokens 0-5: no answer there.
        Assert.Equal((0, 0), (features[0].StartPosition, features[0].EndPosition));
        Assert.Equal((0, 0), (features[1].StartPosition, features[1].EndPosition));
        foreach (var f in features.Skip(2))
        {
            Assert.NotEqual(0, f.StartPosition);
            string answer = Context[f.ContextOffsets[f.StartPosition].Start..f.ContextOffsets[f.EndPosition].End];
            Assert.Equal("eta theta", answer);
        }
        // Question tokens and specials carry no context offset.
        Assert.Equal((-1, -1), features[0].ContextOffsets[1]);
        var first = features[0].ContextOffsets.First(o => o.Start >= 0);
        Assert.Equal("Alpha", Context[first.Start..first.End]);
    }

    [Fact]
    public void Answer_straddling_a_window_edge_counts_only_where_it_fits_whole()
    {
        var tok = new ToyTokenizer(ToyLayout.Bert);
        int start = Context.IndexOf("theta iota", StringComparison.Ordinal);
        var features = SpanQaFeaturizer.Featurize(tok, 0, "which letter", Context, start, "theta iota", Small, training: true);
        // Tokens 7-8: window 2 (tokens 4-7) holds only "theta", window 3 (6-9) holds both.
        Assert.Equal((0, 0), (features[2].StartPosition, features[2].EndPosition));
        var last = features[3];
        Assert.Equal("theta iota", Context[last.ContextOffsets[last.StartPosition].Start..last.ContextOffsets[last.EndPosition].End]);
    }

    [Fact]
    public void Every_context_token_is_max_context_in_exactly_one_window()
    {
        var tok = new ToyTokenizer(ToyLayout.XlmR);
        var features = SpanQaFeaturizer.Featurize(tok, 0, "which letter", Context, null, null, Small with { MaxLength = 10 }, training: false);
        var owners = new Dictionary<int, int>();
        foreach (var f in features)
            for (int i = 0; i < f.InputIds.Length; i++)
                if (f.TokenIsMaxContext[i]) owners[f.ContextOffsets[i].Start] = owners.GetValueOrDefault(f.ContextOffsets[i].Start) + 1;
        Assert.Equal(10, owners.Count);
        Assert.All(owners.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public void Skip_option_drops_training_windows_without_the_answer_but_not_evaluation_ones()
    {
        var tok = new ToyTokenizer(ToyLayout.Bert);
        var skip = Small with { OutOfWindow = OutOfWindowAnswer.Skip };
        Assert.Equal(2, SpanQaFeaturizer.Featurize(tok, 0, "which letter", Context, EtaTheta, "eta theta", skip, training: true).Count);
        Assert.Equal(4, SpanQaFeaturizer.Featurize(tok, 0, "which letter", Context, EtaTheta, "eta theta", skip, training: false).Count);
        // An impossible (v2) question keeps every window, all pointing at CLS.
        var none = SpanQaFeaturizer.Featurize(tok, 0, "which letter", Context, null, null, skip, training: true);
        Assert.Equal(4, none.Count);
        Assert.All(none, f => Assert.Equal((0, 0), (f.StartPosition, f.EndPosition)));
    }

    [Fact]
    public void Question_is_truncated_to_max_query_length()
    {
        var tok = new ToyTokenizer(ToyLayout.Bert);
        var f = SpanQaFeaturizer.Featurize(tok, 0, "q1 q2 q3 q4 q5", "ctx", null, null,
            new SpanQaOptions { MaxLength = 32, MaxQueryLength = 3 }, training: false).Single();
        Assert.Equal(["[CLS]", "q1", "q2", "q3", "[SEP]", "ctx", "[SEP]"], tok.Names(f.InputIds));
        Assert.Equal([0, 0, 0, 0, 0, 1, 1], f.TokenTypeIds);
    }

    [Fact]
    public void Answer_not_at_its_offset_is_reported()
    {
        var ex = Assert.Throws<InvalidInputException>(() => SpanQaFeaturizer.Featurize(new ToyTokenizer(ToyLayout.Bert),
            7, "q", Context, 3, "kappa", Small, training: true));
        Assert.Contains("example 7", ex.Message);
    }

    static (float[] Start, float[] End) Zeros(SpanQaFeature f) => (new float[f.InputIds.Length + 2], new float[f.InputIds.Length + 2]);

    static int Position(SpanQaFeature f, string word) =>
        Array.FindIndex(f.ContextOffsets, o => o.Start >= 0 && Context[o.Start..o.End] == word);

    [Fact]
    public void Decoding_slices_the_original_text_and_respects_the_constraints()
    {
        var tok = new ToyTokenizer(ToyLayout.XlmR);
        var f = SpanQaFeaturizer.Featurize(tok, 0, "which", Context, null, null, new SpanQaOptions(), training: false).Single();
        var (s, e) = Zeros(f);
        s[Position(f, "iota")] = 9; e[Position(f, "kappa")] = 9;       // best: "iota   kappa"
        var best = SpanQaDecoder.Decode([f], [s], [e], [Context], new SpanQaDecodeOptions()).Single();
        Assert.Equal("iota   kappa", best.Text);
        Assert.Equal(18, best.NBest[0].Score, 5);

        // Too long for MaxAnswerLength 3: Alpha..delta is 4 tokens; the best allowed pair wins instead.
        (s, e) = Zeros(f);
        s[Position(f, "Alpha")] = 9; e[Position(f, "delta")] = 9; e[Position(f, "gamma")] = 5;
        var limited = SpanQaDecoder.Decode([f], [s], [e], [Context], new SpanQaDecodeOptions { MaxAnswerLength = 3 }).Single();
        Assert.Equal("Alpha beta  gamma", limited.Text);

        // An end before the start is never paired, and special/question tokens are never answers.
        (s, e) = Zeros(f);
        s[Position(f, "theta")] = 9; e[Position(f, "beta")] = 9; e[Position(f, "iota")] = 2; s[0] = 50; e[0] = 50;
        var ordered = SpanQaDecoder.Decode([f], [s], [e], [Context], new SpanQaDecodeOptions()).Single();
        Assert.Equal("theta iota", ordered.Text);
        double total = ordered.NBest.Sum(a => a.Probability);
        Assert.Equal(1.0, total, 6);
    }

    [Fact]
    public void Best_answer_is_chosen_over_all_windows_of_an_example()
    {
        var tok = new ToyTokenizer(ToyLayout.Bert);
        var features = SpanQaFeaturizer.Featurize(tok, 0, "which letter", Context, null, null, Small, training: false);
        var starts = new List<float[]>();
        var ends = new List<float[]>();
        foreach (var f in features)
        {
            var (s, e) = Zeros(f);
            int alpha = Position(f, "Alpha"), beta = Position(f, "beta"), iota = Position(f, "iota"), kappa = Position(f, "kappa");
            if (alpha >= 0 && beta >= 0) { s[alpha] = 3; e[beta] = 3; }
            if (iota >= 0 && kappa >= 0) { s[iota] = 4; e[kappa] = 4; }
            starts.Add(s); ends.Add(e);
        }
        var prediction = SpanQaDecoder.Decode(features, starts, ends, [Context], new SpanQaDecodeOptions()).Single();
        Assert.Equal("iota   kappa", prediction.Text);
        Assert.Contains(prediction.NBest, a => a.Text == "Alpha beta");
    }

    [Fact]
    public void Squad_v2_predicts_no_answer_when_the_null_score_wins_by_more_than_the_threshold()
    {
        var tok = new ToyTokenizer(ToyLayout.Bert);
        var features = SpanQaFeaturizer.Featurize(tok, 0, "which letter", Context, null, null, Small, training: false);
        var starts = new List<float[]>();
        var ends = new List<float[]>();
        for (int i = 0; i < features.Count; i++)
        {
            var (s, e) = Zeros(features[i]);
            // Null score per window: 2*(10 - i); the minimum (window 3) is 14. Best span: "gamma delta" = 10.
            s[0] = 10 - i; e[0] = 10 - i;
            int gamma = Position(features[i], "gamma"), delta = Position(features[i], "delta");
            if (gamma >= 0 && delta >= 0) { s[gamma] = 5; e[delta] = 5; }
            starts.Add(s); ends.Add(e);
        }
        var v2 = new SpanQaDecodeOptions { AllowNoAnswer = true };
        var none = SpanQaDecoder.Decode(features, starts, ends, [Context], v2).Single();
        Assert.Equal("", none.Text);
        Assert.Equal(14, none.NullScore, 5);
        Assert.Contains(none.NBest, a => a.Text == "");

        var lenient = SpanQaDecoder.Decode(features, starts, ends, [Context], v2 with { NullScoreDiffThreshold = 4.5 }).Single();
        Assert.Equal("gamma delta", lenient.Text);

        // v1 never answers "".
        var v1 = SpanQaDecoder.Decode(features, starts, ends, [Context], new SpanQaDecodeOptions()).Single();
        Assert.Equal("gamma delta", v1.Text);
    }

    [Fact]
    public void Qa_batch_has_start_and_end_positions()
    {
        var tok = new ToyTokenizer(ToyLayout.XlmR);
        var features = SpanQaFeaturizer.Featurize(tok, 0, "which letter", Context, EtaTheta, "eta theta", Small with { MaxLength = 10 }, training: true);
        using var batch = Collator.For(tok).SpanQa(features);
        Assert.Equal([4L, 10], batch.InputIds.shape);
        Assert.Equal(features.Select(f => (long)f.StartPosition), batch.StartPositions!.data<long>().ToArray());
        Assert.Equal(features.Select(f => (long)f.EndPosition), batch.EndPositions!.data<long>().ToArray());
    }
}
