using System;
using System.IO;

namespace Distillery.Core.Datasets.Sidecar;

/// <summary>
/// The compact logprob sidecar of a dataset folder: <c>tokens.bin</c> (the <see cref="TokenTable"/>) and
/// <c>logprobs.bin</c> (a header, then one <see cref="LogprobBlock"/> per row, found by the row's <see cref="LogprobsRef"/>).
/// Both are append-only; a row is written after its block, and its block after its new tokens, so a crash leaves at most
/// unreferenced bytes, which the next writer cuts. The layout is documented in docs/dataset-format.md.
/// </summary>
public static class LogprobSidecar
{
    /// <summary>The token table file name.</summary>
    public const string TokensFile = "tokens.bin";

    /// <summary>The logprob blocks file name.</summary>
    public const string LogprobsFile = "logprobs.bin";

    /// <summary>The magic of <c>logprobs.bin</c>'s header.</summary>
    public static ReadOnlySpan<byte> LogprobsMagic => "DLPB"u8;

    /// <summary>The token table of a folder.</summary>
    public static string TokensPath(string directory) => Path.Combine(directory, TokensFile);

    /// <summary>The logprob blocks of a folder.</summary>
    public static string LogprobsPath(string directory) => Path.Combine(directory, LogprobsFile);
}
