using System.Collections.Generic;
using System.Text.Json;
using Distillery.Core.Chat;

namespace Distillery.Core.Prompts;

/// <summary>One prompt: its id (given, or <c>line-N</c>), the line it came from, its chat messages, and any <c>meta</c> to carry through to the dataset.</summary>
public sealed record Prompt(string Id, int Line, IReadOnlyList<ChatMessage> Messages, JsonElement? Meta);
