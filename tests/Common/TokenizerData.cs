using System;
using System.IO;
using System.Threading.Tasks;
using Distillery.Core.IO;
using Distillery.Models.Tokenizers;

namespace Distillery.Tests.Common;

/// <summary>The tokenizers the tests read: the real ones in ../shared/data/tokenizers and the committed ones in tests/data/tokenizers.</summary>
public static class TokenizerData
{
    /// <summary>The shared folder that holds the real tokenizers (the skip condition of tests that need them).</summary>
    public const string SharedFolder = "tokenizers";

    /// <summary>The real tokenizers' folder names.</summary>
    public static readonly string[] RealNames = ["gpt-4o", "qwen3", "llama-3.1"];

    /// <summary>Loads a real tokenizer.json by folder name.</summary>
    public static Task<HfTokenizer> LoadRealAsync(string name) =>
        HfTokenizer.LoadAsync(SharedData.TryGet($"{SharedFolder}/{name}/{HfTokenizer.FileName}")
                              ?? throw new FileNotFoundException($"shared data '{SharedFolder}/{name}' not found"));

    /// <summary>A file committed under tests/data/tokenizers, as copied beside the test assembly.</summary>
    public static string Committed(string relativePath) => Path.Combine(AppContext.BaseDirectory, "data", "tokenizers", relativePath);
}
