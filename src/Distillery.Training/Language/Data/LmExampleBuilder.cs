using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Hashing;
using Distillery.Core.Tokens;
using Distillery.Models.Tokenizers;

namespace Distillery.Training.Language.Data;

/// <summary>The rows of a dataset as student token sequences, with how many rows had nothing left to learn from.</summary>
/// <param name="Examples">One example per usable row, in file order.</param>
/// <param name="Skipped">Rows whose prompt alone filled the sequence length (no completion token left).</param>
public sealed record LmExampleSet(IReadOnlyList<LmExample> Examples, int Skipped);

/// <summary>
/// Turns dataset rows into student token sequences: the prompt (every message before the final assistant message) through
/// the STUDENT's chat template with its generation prompt, then the assistant's text, tokenised together by the student's
/// tokenizer so the ids are those the student would see; the prompt is the longest common prefix with the prompt alone.
/// </summary>
public static class LmExampleBuilder
{
    /// <summary>
/// Tokenises every row; a row that is not a prompt + assistant answer is an <see cref="InputException"/>. With top-k, the
/// completion is the teacher's stored tokens mapped to student ids by their bytes, and the tokenizers must be shared: a
/// stored token the student cannot spell as one token, or more than <see cref="MaxRetokenizedShare"/> of the rows whose
/// stored tokens differ from the student's own tokenisation of the text, is a one-line refusal that suggests --mode sft.
/// </summary>
    public static LmExampleSet Build(IReadOnlyList<DatasetRow> rows, ITextTokenizer tokenizer, ChatTemplate template, LmTokenization options, string source = "data.jsonl")
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxLength < 2) throw new ArgumentOutOfRangeException(nameof(options), options.MaxLength, "MaxLength must be at least 2");
        var byBytes = options.WithTopK ? ByteVocabulary(tokenizer) : null;
        var end = EndId(tokenizer);
        var examples = new List<LmExample>(rows.Count);
        var skipped = 0;
        int withTokens = 0, retokenized = 0;
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            var line = r + 1;
            var (promptText, completion) = PromptAndCompletion(row, template, source, line);
            var bos = tokenizer.BosId is not null;
            var promptIds = tokenizer.Encode(promptText, bos);
            var fullIds = tokenizer.Encode(promptText + completion, bos).ToList();
            var promptLength = CommonPrefix(promptIds, fullIds);

            IReadOnlyList<TopKAlternatives?>? topK = null;
            if (byBytes is not null)
            {
                var stored = row.Distillery?.Tokens ?? [];
                if (stored.Count == 0)
                    throw InputException.AtLine(source, line, "has no stored token logprobs for top-k distillation; generate the dataset with top_logprobs, or use --mode sft");
                if (options.TeacherSamples > 0 && stored.Any(t => t.SampledLogprobs is null || t.SampledLogprobs.Count < options.TeacherSamples))
                    throw InputException.AtLine(source, line, $"has fewer than {options.TeacherSamples} stored teacher samples per token for random-sampling KD; generate the dataset with --sampled-logprobs {options.TeacherSamples} from a local teacher, or lower --teacher-samples");
                var teacherIds = stored.Select(t => MapToken(byBytes, t.Bytes)).ToArray();
                if (teacherIds.Any(id => id < 0))
                    throw InputException.AtLine(source, line, Refusal(tokenizer, "a teacher token is not a single token of the student's vocabulary"));
                if (promptLength != promptIds.Count || !teacherIds.SequenceEqual(fullIds.Skip(promptIds.Count))) retokenized++;
                // Train on the teacher's own tokens: its logprobs are about exactly these (a sampled completion may be a
                // valid but non-canonical split of its text, which re-encoding would not reproduce).
                fullIds = [.. promptIds, .. teacherIds];
                promptLength = promptIds.Count;
                topK = stored.Select(t => options.TeacherSamples > 0 ? Samples(byBytes, t.SampledLogprobs!.Take(options.TeacherSamples)) : Alternatives(byBytes, t, options.TopLogprobs)).ToArray();
                withTokens++;
            }

            var finish = row.Distillery?.FinishReason ?? "stop";
            if (options.AppendEos && end is { } eos && finish == "stop") fullIds.Add(eos);
            if (fullIds.Count > options.MaxLength) fullIds.RemoveRange(options.MaxLength, fullIds.Count - options.MaxLength);
            if (fullIds.Count <= promptLength)
            {
                skipped++;
                continue;
            }
            var provenance = row.Distillery;
            var teacher = provenance is null ? "none" : $"{provenance.Teacher.Provider}:{provenance.Teacher.RequestedModel}";
            var group = provenance?.PromptId ?? "prompt-" + StableHash.Of(promptText).ToString("x16", CultureInfo.InvariantCulture);
            examples.Add(new LmExample([.. fullIds], promptLength, topK, teacher, group));
        }
        // Sampling now and then picks a non-canonical split of a word, which a shared tokenizer re-encodes differently; a
        // different tokenizer re-encodes nearly every row differently (another vocabulary, another pre-tokenisation).
        if (withTokens > 0 && retokenized > MaxRetokenizedShare * withTokens)
            throw InputException.InFile(source, Refusal(tokenizer, $"{retokenized} of {withTokens} rows' teacher tokens do not re-tokenise identically"));
        return new LmExampleSet(examples, skipped);
    }

    /// <summary>
    /// Whether the rows' stored teacher tokens look like the student's own tokenizer: every stored token is one student
    /// token and at most <see cref="MaxRetokenizedShare"/> of the rows re-tokenise differently (the test <see cref="Build"/>
    /// applies with top-k). Rows without stored tokens are not evidence either way; with none at all, false.
    /// </summary>
    public static bool StoredTokensFit(IReadOnlyList<DatasetRow> rows, ITextTokenizer tokenizer, ChatTemplate template)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(template);
        var byBytes = ByteVocabulary(tokenizer);
        int withTokens = 0, retokenized = 0;
        foreach (var row in rows)
        {
            var stored = row.Distillery?.Tokens ?? [];
            if (stored.Count == 0 || row.Messages.Count < 1) continue;
            withTokens++;
            var teacherIds = stored.Select(t => MapToken(byBytes, t.Bytes)).ToArray();
            if (teacherIds.Any(id => id < 0)) return false;
            var promptText = template.Apply(row.Messages.Take(row.Messages.Count - 1).ToList(), addGenerationPrompt: true);
            var bos = tokenizer.BosId is not null;
            var promptIds = tokenizer.Encode(promptText, bos);
            var fullIds = tokenizer.Encode(promptText + row.Messages[^1].Content, bos);
            if (CommonPrefix(promptIds, fullIds) != promptIds.Count || !teacherIds.SequenceEqual(fullIds.Skip(promptIds.Count))) retokenized++;
        }
        return withTokens > 0 && retokenized <= MaxRetokenizedShare * withTokens;
    }

    /// <summary>The share of rows whose teacher tokens may differ from the student's re-tokenisation before the tokenizers are called different.</summary>
    public const double MaxRetokenizedShare = 0.1;

    /// <summary>A row's prompt rendered with the generation prompt, and the assistant's answer to train on; a row that ends otherwise is an input error.</summary>
    internal static (string Prompt, string Completion) PromptAndCompletion(DatasetRow row, ChatTemplate template, string source, int line)
    {
        if (row.Messages.Count < 1 || row.Messages[^1].Role != "assistant")
            throw InputException.AtLine(source, line, "the last message must be the assistant's answer to train on; is this a dataset made by 'distill generate'?");
        return (template.Apply(row.Messages.Take(row.Messages.Count - 1).ToList(), addGenerationPrompt: true), row.Messages[^1].Content);
    }

    private static string Refusal(ITextTokenizer tokenizer, string evidence) =>
        $"top-k distillation needs the student to share the teacher's tokenizer, but {evidence} under the student's tokenizer ({tokenizer.Name}); use --mode sft";

    /// <summary>
    /// Token bytes → student id for every non-special token. Where two ids spell the same bytes (SentencePiece's byte-fallback
    /// tokens duplicate single-byte pieces) the later id wins: byte-fallback ids come first and the encoder prefers the piece.
    /// </summary>
    public static Dictionary<string, int> ByteVocabulary(ITextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var map = new Dictionary<string, int>(tokenizer.VocabSize, StringComparer.Ordinal);
        for (var id = 0; id < tokenizer.VocabSize; id++)
        {
            if (tokenizer.IsSpecial(id)) continue;
            var bytes = tokenizer.TokenBytes(id);
            if (bytes.Length == 0) continue;
            map[Convert.ToHexString(bytes)] = id;
        }
        return map;
    }

    private static int MapToken(Dictionary<string, int> byBytes, IReadOnlyList<int> bytes) =>
        byBytes.TryGetValue(Key(bytes), out var id) ? id : -1;

    private static TopKAlternatives? Alternatives(Dictionary<string, int> byBytes, TokenLogprob token, int keep)
    {
        var ids = new List<int>(token.TopLogprobs.Count);
        var logprobs = new List<float>(token.TopLogprobs.Count);
        var stored = keep > 0 ? token.TopLogprobs.OrderByDescending(a => a.Logprob).Take(keep) : token.TopLogprobs;
        foreach (var alternative in stored)
        {
            var id = MapToken(byBytes, alternative.Bytes);
            // An alternative the student cannot spell as one token carries no matchable mass; it joins the tail.
            if (id < 0 || ids.Contains(id)) continue;
            ids.Add(id);
            logprobs.Add((float)alternative.Logprob);
        }
        return ids.Count == 0 ? null : new TopKAlternatives([.. ids], [.. logprobs]);
    }

    private static TopKAlternatives? Samples(Dictionary<string, int> byBytes, IEnumerable<TopLogprob> samples)
    {
        // Repeats stay: each draw is one term of the estimate. A sample the student cannot spell as one token is left out.
        var kept = samples.Select(x => (Id: MapToken(byBytes, x.Bytes), x.Logprob)).Where(x => x.Id >= 0).ToArray();
        return kept.Length == 0 ? null : new TopKAlternatives([.. kept.Select(x => x.Id)], [.. kept.Select(x => (float)x.Logprob)]);
    }

    private static string Key(IReadOnlyList<int> bytes)
    {
        var raw = new byte[bytes.Count];
        for (var i = 0; i < raw.Length; i++) raw[i] = (byte)bytes[i];
        return Convert.ToHexString(raw);
    }

    private static int CommonPrefix(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        var n = Math.Min(a.Count, b.Count);
        var i = 0;
        while (i < n && a[i] == b[i]) i++;
        return i;
    }

    /// <summary>The id that ends a sequence: the first stop id that is not BOS, or null.</summary>
    private static int? EndId(ITextTokenizer tokenizer)
    {
        foreach (var id in tokenizer.StopIds.Order())
            if (id != tokenizer.BosId) return id;
        return null;
    }
}
