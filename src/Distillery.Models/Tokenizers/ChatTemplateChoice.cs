using System;
using System.Collections.Generic;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Models.Loading;

namespace Distillery.Models.Tokenizers;

/// <summary>
/// What a run chose about chat templates (<c>--chat-template</c>, <c>--chat-template-arg</c>): a template to use instead of
/// the model's own (null keeps it) and extra template variables. Applied to every model the run loads.
/// </summary>
public sealed record ChatTemplateChoice(ChatTemplate? Template, IReadOnlyDictionary<string, JsonNode?> Arguments)
{
    /// <summary>Each model's own template, no extra variables.</summary>
    public static ChatTemplateChoice None { get; } = new(null, new Dictionary<string, JsonNode?>());

    /// <summary>The choice from option values: the template resolved (built-in, file or folder) and NAME=VALUE pairs parsed; bad input names the option.</summary>
    public static async Task<ChatTemplateChoice> ResolveAsync(string? template, IEnumerable<string>? arguments, CancellationToken cancellationToken = default) =>
        new(template is null ? null : await ChatTemplate.ResolveAsync(template, cancellationToken: cancellationToken),
            ChatTemplate.ParseArguments(arguments ?? []));

    /// <summary>The template a model uses under this choice: the chosen one (keeping the model's BOS and EOS tokens where it names none) or its own, with the arguments.</summary>
    public ChatTemplate For(ChatTemplate own)
    {
        ArgumentNullException.ThrowIfNull(own);
        var template = Template is null ? own : Template.WithSpecialTokens(Template.BosToken ?? own.BosToken, Template.EosToken ?? own.EosToken);
        return Arguments.Count == 0 ? template : template.WithArguments(Arguments);
    }

    /// <summary>Sets the bundle's template to <see cref="For"/> its own.</summary>
    public void ApplyTo(ModelBundle bundle)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        bundle.ChatTemplate = For(bundle.ChatTemplate);
    }
}
