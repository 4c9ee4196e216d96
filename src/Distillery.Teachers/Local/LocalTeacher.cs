using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Core.Hashing;
using Distillery.Core.Provenance;
using Distillery.Core.Specs;
using Distillery.Models.Loading;
using Distillery.Models.Runtime;
using Distillery.Models.Tokenizers;

namespace Distillery.Teachers.Local;

/// <summary>A local teacher (<c>llama2c:PATH</c>, <c>checkpoint:DIR</c>, <c>gguf:PATH</c>) over Distillery.Models: the chat through the model's template, then generation with each token's logprob and top-k alternatives.</summary>
/// <remarks>The model itself (<see cref="Bundle"/>) gives full distributions and hidden states for white-box distillation. One generation runs at a time; the weights are shared.</remarks>
public sealed class LocalTeacher : ITeacher, IDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);

    /// <summary>Wraps a loaded model as a teacher; the teacher owns (disposes) it.</summary>
    /// <param name="spec">The local spec the model was loaded from.</param>
    /// <param name="bundle">The model.</param>
    /// <param name="templateFingerprint">
    /// Set where the run chose the chat template or its variables: it joins the endpoint (<c>PATH#chat-template=…</c>), so the
    /// ledger keys, and thus cached answers, of one model under two templates differ. Null keeps the model's own, and the keys
    /// ledgers already hold.
    /// </param>
    public LocalTeacher(ModelSpec spec, ModelBundle bundle, string? templateFingerprint = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(bundle);
        Bundle = bundle;
        var path = Path.GetFullPath(spec.Target);
        var endpoint = templateFingerprint is null ? path : $"{path}#chat-template={templateFingerprint}";
        Identity = new TeacherIdentity(spec.Provider, Path.GetFileName(path.TrimEnd(Path.DirectorySeparatorChar)), endpoint);
    }

    /// <summary>The model, tokenizer and chat template: full distributions are available from it.</summary>
    public ModelBundle Bundle { get; }

    /// <inheritdoc />
    public TeacherIdentity Identity { get; }

    /// <summary>Loads the model a local spec names (libtorch loaded first).</summary>
    public static Task<LocalTeacher> LoadAsync(ModelSpec spec, CancellationToken cancellationToken = default) =>
        LoadAsync(spec, ChatTemplateChoice.None, null, cancellationToken);

    /// <summary>Loads the model a local spec names (libtorch loaded first) onto <paramref name="device"/> (null: the CPU), its chat template as the run chose.</summary>
    public static async Task<LocalTeacher> LoadAsync(ModelSpec spec, ChatTemplateChoice chatTemplate, DeviceSpec? device = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(chatTemplate);
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Kind == ModelKind.OpenAi) throw new ArgumentException("an openai: spec is not a local teacher", nameof(spec));
        TorchRuntime.EnsureLoaded();
        var on = (device ?? DeviceSpec.Cpu).Resolve();
        var bundle = (await ModelLoader.LoadAsync($"{spec.Provider}:{spec.Target}", cancellationToken: cancellationToken)).MoveTo(on);
        chatTemplate.ApplyTo(bundle);
        var chosen = chatTemplate.Template is not null || chatTemplate.Arguments.Count > 0;
        return new LocalTeacher(spec, bundle, chosen ? TemplateFingerprint(bundle.ChatTemplate, chatTemplate) : null);
    }

    /// <summary>The first 16 hex digits of SHA-256 over the template in force and the chosen variables (sorted by name).</summary>
    private static string TemplateFingerprint(ChatTemplate template, ChatTemplateChoice choice)
    {
        var arguments = string.Join("\n", choice.Arguments.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value?.ToJsonString() ?? "null"}"));
        return Sha256Hex.Of($"{template.Sha256}\n{arguments}")[..16];
    }

    /// <inheritdoc />
    public async Task<Completion> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await gate.WaitAsync(cancellationToken);
        try
        {
            // Generation is CPU-bound: keep it off the caller's thread.
            var result = await Task.Run(() => Bundle.GenerateChat(request.Messages, request.Sampling, cancellationToken: cancellationToken), cancellationToken);
            return new Completion(result.Text, result.Logprobs, result.FinishReasonText, Identity.Model, new TokenUsage(result.PromptTokens, result.CompletionTokens));
        }
        catch (InputException e)
        {
            // A prompt this model cannot take (too long for its context, ...) fails that request, not the run.
            throw new TeacherException(TeacherFailureKind.Rejected, e.Message, null, null, e);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Bundle.Dispose();
        gate.Dispose();
    }
}
