using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Errors;
using Distillery.Models.Templates.Jinja;

namespace Distillery.Models.Tokenizers;

/// <summary>
/// How chat messages become prompt text: a Hugging Face chat template (Jinja), rendered as transformers renders it with
/// <c>messages</c>, <c>add_generation_prompt</c>, the tokenizer's <c>bos_token</c>/<c>eos_token</c> and extra arguments
/// (such as Qwen3's <c>enable_thinking</c>). Built in: <c>chatml</c> and <c>plain</c> (for base models).
/// </summary>
public sealed class ChatTemplate
{
    /// <summary>The file a model folder may hold its template in (transformers ≥ 4.47 writes it).</summary>
    public const string JinjaFileName = "chat_template.jinja";

    /// <summary>The tokenizer config whose <c>chat_template</c> field holds the template the classic Hugging Face way.</summary>
    public const string TokenizerConfigFileName = "tokenizer_config.json";

    /// <summary>Distillery's former schema (<c>{"message": "...{role}...{content}...", "generation_prompt": "..."}</c>), still read.</summary>
    public const string LegacyFileName = "chat_template.json";

    /// <summary>The names a user can choose a built-in template by, for messages.</summary>
    public const string BuiltInNames = "chatml or plain";

    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly JinjaTemplate template;

    private ChatTemplate(string name, JinjaTemplate template, string? bosToken, string? eosToken, IReadOnlyDictionary<string, JsonNode?> arguments)
    {
        Name = name;
        this.template = template;
        BosToken = bosToken;
        EosToken = eosToken;
        Arguments = arguments;
    }

    /// <summary>Where the template came from: a built-in's name, or a file.</summary>
    public string Name { get; }

    /// <summary>The Jinja source.</summary>
    public string Source => template.Source;

    /// <summary>SHA-256 of the source (hex), to tell templates apart in a lineage.</summary>
    public string Sha256 => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Source)));

    /// <summary>The tokenizer's BOS token text, passed as <c>bos_token</c>; null leaves the variable undefined.</summary>
    public string? BosToken { get; }

    /// <summary>The tokenizer's EOS token text, passed as <c>eos_token</c>; null leaves the variable undefined.</summary>
    public string? EosToken { get; }

    /// <summary>Extra template variables (<c>--chat-template-arg NAME=VALUE</c>), as JSON values.</summary>
    public IReadOnlyDictionary<string, JsonNode?> Arguments { get; }

    /// <summary>ChatML, as used by OpenAI's and Qwen's chat models (no default system prompt).</summary>
    public static ChatTemplate ChatML { get; } = FromResource("chatml");

    /// <summary>No markers: the messages' contents run together and the model continues them (base models such as llama2.c's).</summary>
    public static ChatTemplate Plain { get; } = FromResource("plain");

    /// <summary>The built-in template with that name (<c>chatml</c>, <c>plain</c>), or null.</summary>
    public static ChatTemplate? BuiltIn(string name) => name switch
    {
        "chatml" => ChatML,
        "plain" => Plain,
        _ => null,
    };

    /// <summary>A template from Jinja source; a construct the interpreter does not support is an <see cref="InputException"/> naming it, the origin and the line.</summary>
    public static ChatTemplate Parse(string source, string origin, string? bosToken = null, string? eosToken = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(origin);
        try
        {
            return new ChatTemplate(origin, JinjaTemplate.Parse(source), bosToken, eosToken, new Dictionary<string, JsonNode?>());
        }
        catch (JinjaException e)
        {
            throw InputException.InFile(origin, $"chat template line {e.Line}: {e.Reason}");
        }
    }

    /// <summary>This template with extra variables (replacing any it had).</summary>
    public ChatTemplate WithArguments(IReadOnlyDictionary<string, JsonNode?> arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        return new ChatTemplate(Name, template, BosToken, EosToken, arguments);
    }

    /// <summary>This template with other BOS and EOS token texts.</summary>
    public ChatTemplate WithSpecialTokens(string? bosToken, string? eosToken) => new(Name, template, bosToken, eosToken, Arguments);

    /// <summary>
    /// <c>NAME=VALUE</c> pairs as template variables: a VALUE that is JSON (<c>false</c>, <c>3</c>, <c>"text"</c>, <c>[1]</c>)
    /// is taken as such, anything else as a string. A pair without '=' or with a bad name names the option.
    /// </summary>
    public static IReadOnlyDictionary<string, JsonNode?> ParseArguments(IEnumerable<string> pairs, string option = "--chat-template-arg")
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var result = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? pair[..eq] : "";
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') || char.IsAsciiDigit(name[0]))
                throw InputException.InField(option, $"'{pair}' is not NAME=VALUE with a template variable name (e.g. enable_thinking=false)");
            if (name is "messages" or "add_generation_prompt" or "bos_token" or "eos_token")
                throw InputException.InField(option, $"'{name}' is set by Distillery itself; give other variables");
            var text = pair[(eq + 1)..];
            JsonNode? value;
            try
            {
                value = JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                value = JsonValue.Create(text);
            }
            result[name] = value;
        }
        return result;
    }

    /// <summary>The messages as transformers' <c>apply_chat_template(tokenize=False)</c> renders them.</summary>
    public string Render(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var variables = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in Arguments) variables[name] = JinjaJson.FromNode(value);
        if (BosToken is not null) variables["bos_token"] = BosToken;
        if (EosToken is not null) variables["eos_token"] = EosToken;
        variables["messages"] = messages.Select(m =>
        {
            var map = JinjaValues.Map();
            map["role"] = m.Role;
            map["content"] = m.Content;
            return (object?)map;
        }).ToList();
        variables["add_generation_prompt"] = addGenerationPrompt;
        try
        {
            return template.Render(variables);
        }
        catch (JinjaException e)
        {
            throw InputException.InFile(Name, $"chat template line {e.Line}: {e.Reason}");
        }
    }

    /// <summary>
    /// The prompt text to encode: <see cref="Render"/> without a leading BOS token, because Distillery's encoders add BOS
    /// themselves (transformers' <c>apply_chat_template(tokenize=True)</c> likewise yields one BOS, not two).
    /// </summary>
    public string Apply(IReadOnlyList<ChatMessage> messages, bool addGenerationPrompt = true)
    {
        var text = Render(messages, addGenerationPrompt);
        return !string.IsNullOrEmpty(BosToken) && text.StartsWith(BosToken, StringComparison.Ordinal) ? text[BosToken.Length..] : text;
    }

    /// <summary>
    /// The folder's template: <c>chat_template.jinja</c>, else <c>chat_template</c> in <c>tokenizer_config.json</c>, else the
    /// old <c>chat_template.json</c>; BOS and EOS tokens from <c>tokenizer_config.json</c>. Null where the folder has none.
    /// </summary>
    public static async Task<ChatTemplate?> TryLoadAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        var configPath = Path.Combine(directory, TokenizerConfigFileName);
        var config = File.Exists(configPath) ? await ReadJsonObjectAsync(configPath, cancellationToken) : null;
        var bos = TokenText(config?["bos_token"]);
        var eos = TokenText(config?["eos_token"]);
        var jinjaPath = Path.Combine(directory, JinjaFileName);
        if (File.Exists(jinjaPath)) return Parse(await File.ReadAllTextAsync(jinjaPath, cancellationToken), jinjaPath, bos, eos);
        if (config?["chat_template"] is { } field) return Parse(TemplateField(field, configPath), configPath, bos, eos);
        var legacyPath = Path.Combine(directory, LegacyFileName);
        if (File.Exists(legacyPath)) return await LoadLegacyAsync(legacyPath, cancellationToken);
        return null;
    }

    /// <summary>The folder's template (see <see cref="TryLoadAsync"/>), or ChatML where it has none.</summary>
    public static async Task<ChatTemplate> LoadAsync(string directory, CancellationToken cancellationToken = default) =>
        await TryLoadAsync(directory, cancellationToken) ?? ChatML;

    /// <summary>
    /// What <c>--chat-template</c> names: a built-in (<c>chatml</c>, <c>plain</c>), a model folder, a Jinja file, a
    /// <c>tokenizer_config.json</c>, or an old <c>chat_template.json</c>.
    /// </summary>
    public static async Task<ChatTemplate> ResolveAsync(string spec, string option = "--chat-template", CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(spec);
        if (BuiltIn(spec) is { } builtIn) return builtIn;
        if (Directory.Exists(spec))
            return await TryLoadAsync(spec, cancellationToken)
                   ?? throw InputException.InField(option, $"the folder {spec} has no chat template ({JinjaFileName}, or chat_template in {TokenizerConfigFileName}); give a file or {BuiltInNames}");
        if (!File.Exists(spec)) throw InputException.InField(option, $"'{spec}' is neither a built-in template ({BuiltInNames}) nor a file or folder");
        var fileName = Path.GetFileName(spec);
        if (fileName == LegacyFileName) return await LoadLegacyAsync(spec, cancellationToken);
        if (fileName == TokenizerConfigFileName)
            return await TryLoadAsync(Path.GetDirectoryName(Path.GetFullPath(spec))!, cancellationToken)
                   ?? throw InputException.InFile(spec, "has no chat_template field");
        return Parse(await File.ReadAllTextAsync(spec, cancellationToken), spec);
    }

    /// <summary>
    /// Writes the template the Hugging Face way: <c>chat_template.jinja</c>, and <c>chat_template</c> (with the BOS and EOS
    /// tokens) in <c>tokenizer_config.json</c>, merged into one already there. Removes an old <c>chat_template.json</c>.
    /// </summary>
    public async Task SaveAsync(string directory, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, JinjaFileName), Source, cancellationToken);
        var configPath = Path.Combine(directory, TokenizerConfigFileName);
        var config = File.Exists(configPath) ? await ReadJsonObjectAsync(configPath, cancellationToken) : new JsonObject();
        config["chat_template"] = Source;
        if (BosToken is not null && config["bos_token"] is null) config["bos_token"] = BosToken;
        if (EosToken is not null && config["eos_token"] is null) config["eos_token"] = EosToken;
        await File.WriteAllTextAsync(configPath, config.ToJsonString(new JsonSerializerOptions(Readable) { WriteIndented = true }) + "\n", cancellationToken);
        var legacy = Path.Combine(directory, LegacyFileName);
        if (File.Exists(legacy)) File.Delete(legacy);
    }

    private static ChatTemplate FromResource(string name)
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream($"Distillery.Models.Tokenizers.Templates.{name}.jinja")
                           ?? throw new InvalidOperationException($"the built-in template {name} is missing from the assembly");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return new ChatTemplate(name, JinjaTemplate.Parse(reader.ReadToEnd()), null, null, new Dictionary<string, JsonNode?>());
    }

    /// <summary>A chat_template field: a string, or a list of {name, template} where the "default" one is used.</summary>
    private static string TemplateField(JsonNode field, string path)
    {
        if (field is JsonValue v && v.TryGetValue<string>(out var text)) return text;
        if (field is JsonArray named)
        {
            var chosen = named.OfType<JsonObject>().FirstOrDefault(o => o["name"]?.ToString() == "default") ?? named.OfType<JsonObject>().FirstOrDefault();
            if (chosen?["template"] is JsonValue t && t.TryGetValue<string>(out var source)) return source;
        }
        throw InputException.InFile(path, "field 'chat_template' must be a string (or a list of {\"name\", \"template\"} with a \"default\")");
    }

    private static string? TokenText(JsonNode? token) => token switch
    {
        JsonValue v when v.TryGetValue<string>(out var s) => s,
        JsonObject o => o["content"]?.GetValue<string>(),
        _ => null,
    };

    private static async Task<JsonObject> ReadJsonObjectAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return JsonNode.Parse(await File.ReadAllTextAsync(path, cancellationToken)) as JsonObject ?? throw InputException.InFile(path, "must be a JSON object");
        }
        catch (JsonException e)
        {
            throw InputException.InFile(path, $"is not JSON ({ErrorText.FirstLine(e)})");
        }
    }

    /// <summary>Distillery's old schema, translated into the equivalent Jinja (literal text as string literals).</summary>
    private static async Task<ChatTemplate> LoadLegacyAsync(string path, CancellationToken cancellationToken)
    {
        var json = await ReadJsonObjectAsync(path, cancellationToken);
        var message = json["message"] is JsonValue m && m.TryGetValue<string>(out var ms) ? ms : null;
        var generation = json["generation_prompt"] is JsonValue g && g.TryGetValue<string>(out var gs) ? gs : "";
        if (string.IsNullOrEmpty(message) || !message.Contains("{content}", StringComparison.Ordinal))
            throw InputException.InFile(path, "field 'message' must be a string containing {content}");
        var source = new StringBuilder("{% for message in messages %}");
        var rest = message;
        while (rest.Length > 0)
        {
            var role = rest.IndexOf("{role}", StringComparison.Ordinal);
            var content = rest.IndexOf("{content}", StringComparison.Ordinal);
            var next = new[] { role, content }.Where(i => i >= 0).DefaultIfEmpty(-1).Min();
            if (next < 0) { source.Append(Literal(rest)); break; }
            source.Append(Literal(rest[..next]));
            source.Append(next == role ? "{{ message.role }}" : "{{ message.content }}");
            rest = rest[(next + (next == role ? "{role}".Length : "{content}".Length))..];
        }
        source.Append("{% endfor %}{% if add_generation_prompt %}").Append(Literal(generation)).Append("{% endif %}");
        return Parse(source.ToString(), path);
    }

    private static string Literal(string text) => text.Length == 0 ? "" : "{{ " + JsonSerializer.Serialize(text, Readable) + " }}";
}
