using System;
using System.Collections.Generic;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Distillery.Models.Loading;
using Distillery.Models.Tokenizers;
using Distillery.Training.CrossTokenizer;
using Distillery.Training.Language.Configuration;
using Distillery.Training.Language.Data;
using Distillery.Training.Language.Objectives;
using Distillery.Training.Losses;
using Distillery.Training.Trainer;

namespace Distillery.Training.Language;

/// <summary>
/// The steps of a language-model run whose student's tokenizer differs from the teacher's: which method, the examples
/// aligned by byte offsets, the objective, and what the lineage records about it. <see cref="LmTraining"/> takes them
/// where <see cref="For"/> finds a method, and its same-vocabulary steps everywhere else.
/// </summary>
internal sealed class CrossTokenizerSteps
{
    private readonly CrossTokenizerMethod method;
    private readonly StudentSpelling spelling;

    private CrossTokenizerSteps(CrossTokenizerMethod method, StudentSpelling spelling)
    {
        this.method = method;
        this.spelling = spelling;
    }

    /// <summary>
    /// The steps this run takes across tokenizers, or null for the same-vocabulary path. Top-k (and on-policy with an API
    /// teacher, on the dataset's text): the teacher's tokenizer is known from a local teacher where one is given, else from the stored tokens (they fit the student's tokenizer when each
    /// is one student token and the rows re-tokenise identically). White-box: the local teacher's tokenizer. An explicit
    /// --cross-tokenizer takes the cross-tokenizer path even with one tokenizer on both sides.
    /// </summary>
    public static CrossTokenizerSteps? For(LmTrainingConfig config, IReadOnlyList<DatasetRow> rows, ModelBundle student, ModelBundle? teacher)
    {
        if (MethodFor(config, rows, student, teacher) is not { } method) return null;
        if (config.HiddenWeight > 0)
            throw InputException.InField("hidden_weight", "hidden-state matching needs the student to share the teacher's tokenizer; leave it at 0 when distilling across tokenizers");
        if (method.UsesTopK() && config.ChunkStartMatch == AlternativeMatch.Prefix && config.TailPolicy == TopKTailPolicy.UniformTail)
            throw InputException.InField("tail_policy", "uniform-tail is not defined over prefix groups of student tokens; use fold-tail-into-bucket or renormalise, or another --chunk-start-match");
        return new CrossTokenizerSteps(method, StudentSpelling.Of(student.Tokenizer, config.ChunkStartMatch));
    }

    /// <summary>Each row's completion in both tokenisations with its aligned chunks (the local teacher's encoding, or the stored tokens).</summary>
    public LmExampleSet BuildExamples(LmTrainingConfig config, IReadOnlyList<DatasetRow> rows, ModelBundle student, ModelBundle? teacher, int seqLen)
    {
        var source = DatasetFolder.DataPath(config.Data);
        return config.Mode == LmMode.Whitebox
            ? CrossTokenizerExampleBuilder.ForLocalTeacher(rows, student.Tokenizer, student.ChatTemplate, teacher!.Tokenizer, teacher.ChatTemplate, seqLen, source)
            : CrossTokenizerExampleBuilder.FromStoredTokens(rows, student.Tokenizer, student.ChatTemplate, seqLen, source);
    }

    /// <summary>The chunk loss mixed with cross-entropy by α: white-box against the local teacher's logits, else from stored logprobs.</summary>
    public ITrainingObjective<LmBatch> CreateObjective(LmTrainingConfig config, ModelBundle student, ModelBundle? teacher) =>
        config.Mode == LmMode.Whitebox
            ? new CrossTokenizerWhiteBoxObjective(student.Model, teacher!, method, VocabularyMap.Between(teacher!.Tokenizer, student.Tokenizer), spelling, config.TailPolicy, Alpha(config))
            : new CrossTokenizerTopKObjective(student.Model, method, spelling, config.TailPolicy, Alpha(config));

    /// <summary>The lineage with the method, the shares of the teacher's signal that reached the loss, and the loss as run (on-policy: the sampled loss, then this one on the dataset's text).</summary>
    public Lineage Record(Lineage lineage, LmTrainingConfig config, IReadOnlyList<LmExample> train, ModelBundle? teacher)
    {
        var coverage = CrossTokenizerCoverage.Measure(train, method, spelling);
        var record = new LineageCrossTokenizer(LmTraining.Kebab(method), config.Mode == LmMode.Whitebox ? teacher!.Tokenizer.Name : "stored tokens", coverage.Chunks,
            Math.Round(coverage.OneToOneShare, 6), Math.Round(coverage.TeacherTokenShare, 6), coverage.TopKMassShare is { } m ? Math.Round(m, 6) : null);
        return lineage with { CrossTokenizer = record, Losses = config.Mode == LmMode.Onpolicy ? $"{LmTraining.ApiSampledLoss(config)} per aligned chunk; on the dataset's text {LossText(config)}" : LossText(config) };
    }

    private static CrossTokenizerMethod? MethodFor(LmTrainingConfig config, IReadOnlyList<DatasetRow> rows, ModelBundle student, ModelBundle? teacher)
    {
        switch (config.Mode)
        {
            case LmMode.Topk:
                if (config.CrossTokenizer is { } topK) return topK;
                var shared = teacher is not null
                    ? SharedVocabulary.Between(student.Tokenizer, teacher.Tokenizer)
                    : LmExampleBuilder.StoredTokensFit(rows, student.Tokenizer, student.ChatTemplate);
                return shared ? null : CrossTokenizerMethods.TopKDefault;
            case LmMode.Onpolicy when config.HasApiTeacher:
                // The dataset's text, between on-policy batches, is distilled from its stored tokens as top-k mode does.
                if (config.CrossTokenizer is { } onPolicy) return onPolicy;
                return LmExampleBuilder.StoredTokensFit(rows, student.Tokenizer, student.ChatTemplate) ? null : CrossTokenizerMethods.TopKDefault;
            case LmMode.Whitebox:
                if (config.CrossTokenizer is { } whiteBox) return whiteBox;
                return student.Config.VocabSize == teacher!.Config.VocabSize && SharedVocabulary.Between(student.Tokenizer, teacher.Tokenizer)
                    ? null
                    : CrossTokenizerMethods.WhiteBoxDefault;
            default:
                return null;
        }
    }

    /// <summary>The KD weight of a cross-tokenizer run: --alpha, else 0.5 (ULD ignores which token is which, so CE stays in).</summary>
    private static double Alpha(LmTrainingConfig config) => config.Alpha ?? 0.5;

    private string LossText(LmTrainingConfig config)
    {
        var alpha = Alpha(config);
        var kd = method switch
        {
            CrossTokenizerMethod.Alm => "ALM chunk likelihood matching",
            CrossTokenizerMethod.TopkChunkStarts => $"top-k KL at chunk starts ({StartTargets(config)})",
            CrossTokenizerMethod.AlmAndTopk => $"(ALM + top-k KL at chunk starts ({StartTargets(config)}))",
            CrossTokenizerMethod.Uld => "ULD at chunk starts",
            _ => "hybrid (shared-token KL + sorted L1) at chunk starts",
        };
        return $"cross-tokenizer: {alpha:G3}·{kd} + {1 - alpha:G3}·cross-entropy";
    }

    private static string StartTargets(LmTrainingConfig config) => $"{LmTraining.Kebab(config.ChunkStartMatch)}, {LmTraining.Kebab(config.TailPolicy)}";
}
