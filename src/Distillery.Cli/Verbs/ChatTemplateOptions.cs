using System.CommandLine;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Models.Tokenizers;

namespace Distillery.Cli.Verbs;

/// <summary><c>--chat-template</c> and <c>--chat-template-arg</c>, the same on every verb that turns chats into tokens.</summary>
internal sealed class ChatTemplateOptions
{
    /// <summary>The options, described for the models the verb loads.</summary>
    public ChatTemplateOptions(string models = "the model's")
    {
        Template = new Option<string?>("--chat-template") { Description = $"Chat template instead of {models} own: chatml | plain | a Jinja file | a model folder" };
        Arguments = new Option<string[]>("--chat-template-arg")
        {
            Description = "Template variable NAME=VALUE, JSON or text (e.g. enable_thinking=false); repeatable",
            AllowMultipleArgumentsPerToken = false,
        };
    }

    /// <summary><c>--chat-template</c>.</summary>
    public Option<string?> Template { get; }

    /// <summary><c>--chat-template-arg</c>.</summary>
    public Option<string[]> Arguments { get; }

    /// <summary>Adds both options to a command.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(Template);
        command.Options.Add(Arguments);
    }

    /// <summary>The choice the command line makes; a bad template or argument is an input error naming the option.</summary>
    public Task<ChatTemplateChoice> ResolveAsync(ParseResult parse, CancellationToken cancellationToken) =>
        ChatTemplateChoice.ResolveAsync(parse.GetValue(Template), parse.GetValue(Arguments), cancellationToken);
}
