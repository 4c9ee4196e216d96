using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Distillery.Core.Chat;
using Distillery.Evaluation.Data;
using Distillery.Evaluation.Metrics;
using Distillery.Evaluation.Reports;
using Distillery.Models.Loading;
using Distillery.Models.Runtime;
using Distillery.Models.Tokenizers;
using static TorchSharp.torch;

namespace Distillery.Evaluation;

/// <summary>How much an evaluation measures.</summary>
public sealed record EvalOptions
{
    /// <summary>Tokens generated (greedy, one stream) to time decoding.</summary>
    public int LatencyTokens { get; init; } = 128;

    /// <summary>Longest generated answer for questions with reference final answers.</summary>
    public int MaxAnswerTokens { get; init; } = 256;

    /// <summary>The chat template (and template variables) the run uses for every model; by default each model's own.</summary>
    public ChatTemplateChoice ChatTemplate { get; init; } = ChatTemplateChoice.None;

    /// <summary>Tokens the model samples per held-out prompt for the sample-level reverse KL (0 skips it).</summary>
    public int SampleTokens { get; init; } = 64;

    /// <summary>Seed of those samples.</summary>
    public int SampleSeed { get; init; }

    /// <summary>Where the models (teacher and students alike) run; CPU by default.</summary>
    public DeviceSpec Device { get; init; } = DeviceSpec.Cpu;
}

/// <summary>Scores language models on held-out data: cross-entropy, KL to and agreement with a teacher, exact match, latency and size.</summary>
public static class LanguageModelEvaluator
{
    /// <summary>Evaluates one model (and, with a teacher sharing its tokenizer, its KL to and agreement with that teacher).</summary>
    public static ModelScore Evaluate(string name, string role, ModelBundle model, ModelBundle? teacher, IReadOnlyList<EvalExample> data,
        EvalOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        options ??= new EvalOptions();
        var compareTeacher = teacher is not null && !ReferenceEquals(teacher, model) && SharedVocabulary.Between(teacher.Tokenizer, model.Tokenizer);
        // Across vocabularies there is no per-token KL; top-1 agreement is measured on one-to-one chunks instead.
        var compareChunks = teacher is not null && !ReferenceEquals(teacher, model) && !compareTeacher;
        double nll = 0, kl = 0;
        long tokens = 0, agree = 0, bytes = 0, chunks = 0, chunksAgreed = 0;
        int questions = 0, correct = 0;
        using (inference_mode())
        {
            foreach (var example in data)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (example is QuestionExample q)
                {
                    var answer = model.GenerateChat([ChatMessage.User(q.Question)], new SamplingParameters { Temperature = 0, MaxTokens = options.MaxAnswerTokens },
                        cancellationToken: cancellationToken).Text;
                    questions++;
                    if (FinalAnswer.Matches(answer, q.Answer)) correct++;
                    continue;
                }
                if (compareChunks && example is ChatExample chat)
                {
                    var (agreed, counted) = AgreementOnOneToOneChunks(teacher!, model, chat);
                    chunksAgreed += agreed;
                    chunks += counted;
                }
                foreach (var (ids, scoredFrom) in Sequences(model, example))
                {
                    using var scope = NewDisposeScope();
                    var device = model.Model.OutputWeight.device; // the teacher is on the same device (EvaluationRun)
                    var input = tensor(ids.Take(ids.Count - 1).Select(i => (long)i).ToArray(), [1, ids.Count - 1]).to(device);
                    var targets = tensor(ids.Skip(1).Select(i => (long)i).ToArray(), [1, ids.Count - 1]).to(device);
                    // Position t predicts token t + 1: score only the targets at or after scoredFrom.
                    var mask = (arange(1, ids.Count, dtype: ScalarType.Int64) >= scoredFrom).to_type(ScalarType.Float32).unsqueeze(0).to(device);
                    var logits = model.Model.forward(input);
                    nll += TokenMetrics.NegativeLogLikelihoodSum(logits, targets, mask);
                    tokens += (long)mask.sum().item<float>();
                    bytes += ScoredBytes(model.Tokenizer, ids, scoredFrom);
                    if (compareTeacher)
                    {
                        var teacherLogits = teacher!.Model.forward(input);
                        kl += TokenMetrics.KlSum(teacherLogits, logits, mask);
                        agree += TokenMetrics.AgreementCount(teacherLogits, logits, mask);
                    }
                }
            }
        }
        var sampleReverseKl = compareTeacher && options.SampleTokens > 0 ? SampleReverseKl(model, teacher!, data, options) : null;
        return new ModelScore
        {
            Name = name,
            Role = role,
            Spec = model.Spec,
            Parameters = model.Model.ParameterCount,
            FileBytes = FileBytes(model.Spec),
            CrossEntropy = tokens > 0 ? nll / tokens : null,
            Perplexity = tokens > 0 ? TokenMetrics.Perplexity(nll, tokens) : null,
            BitsPerByte = bytes > 0 ? TokenMetrics.BitsPerByte(nll, bytes) : null,
            KlToTeacher = compareTeacher && tokens > 0 ? kl / tokens : null,
            ChunkAgreement = compareChunks && chunks > 0 ? chunksAgreed / (double)chunks : null,
            Agreement = compareTeacher && tokens > 0 ? agree / (double)tokens : null,
            SampleReverseKl = sampleReverseKl,
            ExactMatch = questions > 0 ? correct / (double)questions : null,
            MsPerToken = MeasureMsPerToken(model, data, options.LatencyTokens, cancellationToken),
        };
    }

    /// <summary>The model's sample-level KL(model ‖ teacher) on the chat examples' prompts (<see cref="SampleLevelReverseKl"/>).</summary>
    private static double? SampleReverseKl(ModelBundle model, ModelBundle teacher, IReadOnlyList<EvalExample> data, EvalOptions options)
    {
        var prompts = data.OfType<ChatExample>().Select(chat => model.EncodePrompt(model.ChatTemplate.Apply(chat.Prompt))).ToList();
        var stops = new HashSet<int>(model.Tokenizer.StopIds);
        stops.UnionWith(model.Config.EosTokenIds);
        return SampleLevelReverseKl.Measure(model.Model, teacher.Model, prompts, stops, options.SampleTokens, options.SampleSeed);
    }

    /// <summary>
    /// The token sequences an example is scored on and, for each, the index of the first scored token: after the prompt for
    /// chat examples (prompt and answer encoded together, scored from where they stop agreeing with the prompt alone),
    /// everything after BOS for text, which is cut into context-sized windows.
    /// </summary>
    public static IEnumerable<(IReadOnlyList<int> Ids, int ScoredFrom)> Sequences(ModelBundle model, EvalExample example)
    {
        ArgumentNullException.ThrowIfNull(model);
        var context = model.Config.MaxPositionEmbeddings;
        switch (example)
        {
            case ChatExample chat:
            {
                var promptText = model.ChatTemplate.Apply(chat.Prompt);
                var prompt = model.EncodePrompt(promptText);
                var full = model.EncodePrompt(promptText + chat.Reference);
                var common = 0;
                while (common < prompt.Count && common < full.Count && prompt[common] == full[common]) common++;
                var ids = full.Take(context).ToList();
                if (ids.Count > common && ids.Count >= 2) yield return (ids, Math.Max(1, common));
                break;
            }
            case TextExample text:
            {
                var ids = model.EncodePrompt(text.Text);
                for (var start = 0; start + 1 < ids.Count; start += context - 1)
                    yield return (ids.Skip(start).Take(context).ToList(), 1);
                break;
            }
        }
    }

    /// <summary>The UTF-8 bytes the scored tokens ids[scoredFrom..] add to the text (special tokens add none).</summary>
    public static long ScoredBytes(ITextTokenizer tokenizer, IReadOnlyList<int> ids, int scoredFrom)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(ids);
        long bytes = 0;
        for (var i = Math.Max(0, scoredFrom); i < ids.Count; i++)
            if (!tokenizer.IsSpecial(ids[i])) bytes += tokenizer.DecodeStep(i == 0 ? -1 : ids[i - 1], ids[i]).Length;
        return bytes;
    }

    /// <summary>
    /// Top-1 agreement of a model with a teacher of another tokenizer on a chat example's reference: each encodes its prompt
    /// and then the reference on its own; on every one-to-one chunk of the two encodings (<see cref="Metrics.ChunkAgreement"/>)
    /// within both contexts, their most likely tokens agree when they spell the same bytes. Returns (agreed, counted).
    /// </summary>
    public static (long Agreed, long Counted) AgreementOnOneToOneChunks(ModelBundle teacher, ModelBundle model, ChatExample chat)
    {
        ArgumentNullException.ThrowIfNull(teacher);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(chat);
        var t = TopChoices(teacher, chat);
        var s = TopChoices(model, chat);
        long agreed = 0, counted = 0;
        foreach (var (ti, si) in ChunkAgreement.OneToOne(t.Offsets, s.Offsets))
        {
            if (t.Choices[ti] is not { } tc || s.Choices[si] is not { } sc) continue; // past a context
            counted++;
            if (tc.AsSpan().SequenceEqual(sc)) agreed++;
        }
        return (agreed, counted);
    }

    /// <summary>The reference's tokens mapped onto its bytes and, for each, the bytes of the model's top-1 choice there (null past the context).</summary>
    private static (TokenOffsets Offsets, byte[]?[] Choices) TopChoices(ModelBundle model, ChatExample chat)
    {
        var prompt = model.EncodePrompt(model.ChatTemplate.Apply(chat.Prompt));
        var completion = model.Tokenizer.Encode(chat.Reference);
        var offsets = TokenOffsets.Map(model.Tokenizer, chat.Reference, completion);
        var ids = prompt.Concat(completion).Take(model.Config.MaxPositionEmbeddings).ToArray();
        var choices = new byte[]?[completion.Count];
        if (prompt.Count == 0 || ids.Length <= prompt.Count) return (offsets, choices);
        using var scope = NewDisposeScope();
        var input = tensor(ids.Take(ids.Length - 1).Select(i => (long)i).ToArray(), [1, ids.Length - 1]).to(model.Model.OutputWeight.device);
        var top = model.Model.forward(input).narrow(-1, 0, model.Tokenizer.VocabSize).argmax(-1)[0].cpu().data<long>().ToArray(); // (T)
        // Completion token i sits at ids[prompt + i] and is predicted at position prompt + i − 1; its bytes are spelled as
        // TokenOffsets spells them (the first as if after BOS, which drops a dummy-prefix space).
        for (var i = 0; prompt.Count + i < ids.Length; i++)
        {
            var previous = i == 0 ? model.Tokenizer.BosId ?? -1 : completion[i - 1];
            var choice = (int)top[prompt.Count + i - 1];
            choices[i] = model.Tokenizer.IsSpecial(choice) ? [] : model.Tokenizer.DecodeStep(previous, choice).ToArray();
        }
        return (offsets, choices);
    }

    /// <summary>Bytes of the weights a spec points at: a file's length, or a folder's safetensors; null where unknown.</summary>
    public static long? FileBytes(string spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var path = ModelLoader.PathOf(spec);
        if (File.Exists(path)) return new FileInfo(path).Length;
        if (Directory.Exists(path))
        {
            var weights = Directory.GetFiles(path, "*.safetensors");
            return weights.Length > 0 ? weights.Sum(f => new FileInfo(f).Length) : null;
        }
        return null;
    }

    private static double? MeasureMsPerToken(ModelBundle model, IReadOnlyList<EvalExample> data, int tokens, CancellationToken cancellationToken)
    {
        if (tokens <= 0) return null;
        var prompt = data.OfType<ChatExample>().Select(c => model.ChatTemplate.Apply(c.Prompt)).FirstOrDefault() ?? "Once upon a time";
        var greedy = new SamplingParameters { Temperature = 0, MaxTokens = tokens };
        model.Generate(prompt, greedy with { MaxTokens = 4 }, cancellationToken: cancellationToken); // warm-up
        var best = double.MaxValue;
        // Best of five: a tiny model decodes a token in well under a millisecond, so single runs are noisy.
        for (var run = 0; run < 5; run++)
        {
            var clock = Stopwatch.StartNew();
            var result = model.Generate(prompt, greedy, cancellationToken: cancellationToken);
            if (result.CompletionTokens > 0) best = Math.Min(best, clock.Elapsed.TotalMilliseconds / result.CompletionTokens);
        }
        return best == double.MaxValue ? null : best;
    }
}
