namespace Stilts.Tasks;

/// <summary>The shape of a task's data, which decides its head, featurizer and metric family.</summary>
public enum TaskKind
{
    SentenceClassification,
    PairClassification,
    Tagging,
    SpanQa,
    MultipleChoice,
    BitextMining,
    SimilaritySearch,
    QuestionRetrieval,
    EntityLinking,
    MaskedLm,
}

/// <summary>The three splits every task file layout is keyed by (BUCC "sample" = Dev, "training" = Test).</summary>
public enum Split { Train, Dev, Test }

/// <summary>
/// One example of a per-example task (everything except the retrieval kinds, whose data only makes sense as a whole
/// set, see <see cref="RetrievalData"/>). Id is unique within one file; readers make one up ("{file}-{n}") when the
/// format has none. Labels are null where the file carries none (XTREME test files).
/// </summary>
public abstract record TaskExample(string Id);

public sealed record SentenceClassificationExample(string Id, string Text, string? Label) : TaskExample(Id);

public sealed record PairClassificationExample(string Id, string Text, string TextPair, string? Label) : TaskExample(Id);

/// <summary>Pre-split words with one tag per word; Tags null for unlabelled (test) files.</summary>
public sealed record TaggingExample(string Id, IReadOnlyList<string> Words, IReadOnlyList<string>? Tags) : TaskExample(Id);

/// <summary>A gold answer: its text and the character offset of its first occurrence in the context.</summary>
public readonly record struct SpanAnswer(string Text, int AnswerStart);

/// <summary>
/// Extractive QA in SQuAD form. Answers is empty for SQuAD v2 unanswerable questions (IsImpossible) and for XTREME
/// test files (blanked). Language is the context language where the format tells it (MLQA/TyDiQA), else null.
/// </summary>
public sealed record SpanQaExample(
    string Id,
    string Question,
    string Context,
    IReadOnlyList<SpanAnswer> Answers,
    bool IsImpossible,
    string? Title = null,
    string? Language = null) : TaskExample(Id);

/// <summary>
/// Multiple choice: a shared context (HellaSwag ctx, COPA premise, Cosmos/SocialIQA passage; empty for
/// CommonsenseQA), an optional question or prompt (CommonsenseQA stem, COPA "cause"/"effect"), the choices, and the
/// 0-based index of the right choice (null when unlabelled).
/// </summary>
public sealed record MultipleChoiceExample(
    string Id,
    string Context,
    string? Question,
    IReadOnlyList<string> Choices,
    int? Label) : TaskExample(Id);

/// <summary>One line of plain text for masked-language-model training.</summary>
public sealed record MaskedLmExample(string Id, string Text) : TaskExample(Id);

/// <summary>The data of a retrieval task for one language: a whole set, because candidates are shared by queries.</summary>
public abstract record RetrievalData(string Language);

/// <summary>A sentence with its corpus id (BUCC "de-000413461").</summary>
public readonly record struct IdSentence(string Id, string Text);

/// <summary>BUCC-style mining: foreign (source) and English (target) sentences, gold (source id, target id) pairs.</summary>
public sealed record BitextMiningData(
    string Language,
    IReadOnlyList<IdSentence> Source,
    IReadOnlyList<IdSentence> Target,
    IReadOnlyList<(string SourceId, string TargetId)>? Gold) : RetrievalData(Language);

/// <summary>
/// Tatoeba-style search. Source = foreign sentences (the index), Target = English sentences (the queries, XTREME's
/// direction); Gold[i] = index into Source of the translation of Target[i], null when the alignment is hidden.
/// </summary>
public sealed record SimilaritySearchData(
    string Language,
    IReadOnlyList<string> Source,
    IReadOnlyList<string> Target,
    IReadOnlyList<int>? Gold) : RetrievalData(Language);

/// <summary>A LAReQA question; GoldSentenceIds are candidate ids (the answer sentence in each language).</summary>
public sealed record RetrievalQuestion(string Id, string Language, string Question, IReadOnlyList<string> GoldSentenceIds);

/// <summary>A LAReQA candidate: one sentence of a paragraph, with its paragraph as context.</summary>
public sealed record CandidateSentence(string Id, string Language, string Text, string Context);

/// <summary>LAReQA (XQuAD-R): questions against a pool of candidate sentences in all languages.</summary>
public sealed record QuestionRetrievalData(
    string Language,
    IReadOnlyList<RetrievalQuestion> Questions,
    IReadOnlyList<CandidateSentence> Candidates) : RetrievalData(Language);

/// <summary>A Mewsli-X mention: [Start, End) character span in Context; GoldEntityId null where unknown.</summary>
public sealed record EntityMention(
    string ExampleId,
    string Language,
    string Context,
    int Start,
    int End,
    string MentionText,
    string? GoldEntityId);

/// <summary>A Mewsli-X candidate entity (a Wikidata QID) with its description text.</summary>
public sealed record CandidateEntity(string EntityId, string Language, string Title, string Description);

/// <summary>Mewsli-X: mentions of one language against the shared candidate set.</summary>
public sealed record EntityLinkingData(
    string Language,
    IReadOnlyList<EntityMention> Mentions,
    IReadOnlyList<CandidateEntity> Candidates) : RetrievalData(Language);

/// <summary>
/// What a reader saw while reading one file: filled in as the (lazy) enumeration goes, so read it after enumerating.
/// AnswerMismatches counts SQuAD answers whose answer_start does not point at their text (HF warns and keeps them);
/// Skipped counts examples dropped on purpose (SNLI "-" labels), with the reasons in Notes.
/// </summary>
public sealed class ReadReport
{
    public int Read { get; internal set; }
    public int Skipped { get; internal set; }
    public int AnswerMismatches { get; internal set; }
    public List<string> Notes { get; } = [];

    internal void Skip(string note) { Skipped++; if (Notes.Count < 20) Notes.Add(note); }
    internal void Mismatch(string note) { AnswerMismatches++; if (Notes.Count < 20) Notes.Add(note); }
    public override string ToString() => $"read {Read}, skipped {Skipped}, answer mismatches {AnswerMismatches}";
}
