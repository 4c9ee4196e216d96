using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Models.Loading;
using Distillery.Models.Runtime;
using static TorchSharp.torch;

namespace Distillery.Teachers.Provenance;

/// <summary>
/// The watermarked teacher's own model, run without the watermark: its next-token probabilities after a prompt and a suspect's
/// answer, which the logprob radioactivity test subtracts so that only what the suspect learned beyond the teacher is scored.
/// </summary>
public sealed class UnmarkedTeacher : IDisposable
{
    private readonly ModelBundle bundle;

    private UnmarkedTeacher(ModelBundle bundle) => this.bundle = bundle;

    /// <summary>Loads a local model spec; its vocabulary must be the watermark's (<paramref name="vocabSize"/>, where known).</summary>
    public static async Task<UnmarkedTeacher> LoadAsync(string spec, int? vocabSize, DeviceSpec? device, CancellationToken cancellationToken = default)
    {
        TorchRuntime.EnsureLoaded();
        var bundle = await ModelLoader.LoadAsync(spec, cancellationToken: cancellationToken);
        if (vocabSize is { } size && bundle.Config.VocabSize != size)
        {
            bundle.Dispose();
            throw InputException.InField("--teacher-model", $"{spec} has a vocabulary of {bundle.Config.VocabSize:N0}, the watermark's has {size:N0}; give the watermarked teacher's own model");
        }
        if (device is not null) bundle.MoveTo(device.Resolve());
        return new UnmarkedTeacher(bundle);
    }

    /// <summary>The teacher's tokenizer: the watermark's vocabulary.</summary>
    public Distillery.Models.Tokenizers.ITextTokenizer Tokenizer => bundle.Tokenizer;

    /// <summary>P(id | messages through its chat template, answer[..t]) for each answer position t: [t][id].</summary>
    public float[][] Probabilities(IReadOnlyList<ChatMessage> messages, IReadOnlyList<int> answer)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(answer);
        using var scope = NewDisposeScope();
        using var inference = inference_mode();
        var prompt = bundle.EncodePrompt(bundle.ChatTemplate.Apply(messages));
        var ids = prompt.Concat(answer).Take(bundle.Config.MaxPositionEmbeddings).Select(i => (long)i).ToArray();
        var vocab = bundle.Config.VocabSize;
        var device = bundle.Model.OutputWeight.device;
        var probabilities = bundle.Model.Forward(tensor(ids, [1, ids.Length]).to(device)).Logits[0].softmax(-1).to(ScalarType.Float32).cpu().data<float>().ToArray(); // (T·V)
        // Position t of the answer is predicted at sequence index |prompt| − 1 + t; past the context window it reads as zeros.
        return [.. answer.Select((_, t) => prompt.Count - 1 + t < ids.Length ? probabilities.AsSpan((prompt.Count - 1 + t) * vocab, vocab).ToArray() : new float[vocab])];
    }

    /// <inheritdoc />
    public void Dispose() => bundle.Dispose();
}
