using Stilts.Models;
using Stilts.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Stilts.Tasks.TextToText;

/// <summary>How text-to-text predictions are made.</summary>
public sealed record TextToTextPredictOptions
{
    public int MaxInputLength { get; init; } = 256;
    /// <summary>Most generated tokens (ignored by constrained and scored predictions, which need at most the longest candidate).</summary>
    public int MaxNewTokens { get; init; } = 64;
    /// <summary>Greedy decoding restricted to the label words (classification) or the example's choices (generated multiple choice).</summary>
    public bool ConstrainToLabels { get; init; }
    public int BatchSize { get; init; } = 16;
    public Device? Device { get; init; }
}

/// <summary>
/// One example's prediction in its task's own type, ready for the encoder models' metrics: Label (classification;
/// null when the text names no label), Answer (span QA), Tags (tagging, one per word), Choice (multiple choice,
/// -1 when the text names none). Generated is the raw text (empty for scored multiple choice).
/// </summary>
public sealed record TextToTextPrediction(string Generated, string? Label = null, string? Answer = null, string[]? Tags = null, int? Choice = null);

/// <summary>Evaluation of a text-to-text model: greedy (optionally constrained) generation or choice scoring, then decoding.</summary>
public static class TextToTextPredictor
{
    public static List<TextToTextPrediction> Predict(T5ForConditionalGeneration model, TextTokenizer tokenizer, Verbalizer v,
        IReadOnlyList<TaskExample> examples, TextToTextPredictOptions? options = null)
    {
        options ??= new TextToTextPredictOptions();
        model.eval();
        var labelTrie = v.Target == TargetForm.LabelWord && options.ConstrainToLabels
            ? SequenceTrie.Create(v.LabelWords.Select(w => TextToTextFeaturizer.Target(tokenizer, w, options.MaxNewTokens + 1)))
            : null;
        var predictions = new List<TextToTextPrediction>(examples.Count);
        for (int start = 0; start < examples.Count; start += options.BatchSize)
        {
            using var scope = NewDisposeScope();
            var chunk = examples.Skip(start).Take(options.BatchSize).ToList();
            var formatted = chunk.Select(e => TextToTextFormatter.Format(v, e)).ToList();
            var (ids, mask) = TextToTextFeaturizer.EncodeTexts(tokenizer, [.. formatted.Select(f => f.Input)], options.MaxInputLength, options.Device);
            var choiceIds = formatted.Select(f => (IReadOnlyList<int[]>)[.. f.Choices.Select(c => TextToTextFeaturizer.Target(tokenizer, c, options.MaxNewTokens + 1))]).ToList();

            if (v.Target == TargetForm.ChoiceText && v.ChoiceMode == ChoiceMode.Score)
            {
                foreach (var (best, _) in SequenceScoring.Choose(model, ids, mask, choiceIds))
                    predictions.Add(new TextToTextPrediction("", Choice: best));
                continue;
            }

            Tensor generated = labelTrie is not null ? ConstrainedDecoding.Generate(model, ids, mask, labelTrie)
                : v.Target == TargetForm.ChoiceText && options.ConstrainToLabels
                    ? ConstrainedDecoding.Generate(model, ids, mask, [.. choiceIds.Select(c => SequenceTrie.Create(c))])
                    : model.Generate(ids, mask, options.MaxNewTokens, ConstrainedDecoding.WithinVocabulary(tokenizer.VocabSize));
            var rows = ConstrainedDecoding.Rows(generated, model.Config);
            for (int i = 0; i < chunk.Count; i++)
            {
                string text = tokenizer.Decode(rows[i], skipSpecialTokens: true);
                predictions.Add(Decode(v, chunk[i], text, TextToTextDecoder.RoundTrip(tokenizer)));
            }
        }
        return predictions;
    }

    /// <summary>A generated text as the prediction type of <paramref name="example"/>'s task.</summary>
    public static TextToTextPrediction Decode(Verbalizer v, TaskExample example, string generated, Func<string, string>? normalizeWord = null) => example switch
    {
        SentenceClassificationExample or PairClassificationExample => new(generated, Label: TextToTextDecoder.Label(v, generated)),
        SpanQaExample => new(generated, Answer: TextToTextDecoder.Answer(generated)),
        TaggingExample t => new(generated, Tags: TextToTextDecoder.Tags(v, t.Words, generated, normalizeWord)),
        MultipleChoiceExample m => new(generated, Choice: TextToTextDecoder.Choice(m.Choices, generated)),
        _ => throw new InvalidInputException($"example \"{example.Id}\"", $"a {example.GetType().Name} has no text-to-text form"),
    };
}
