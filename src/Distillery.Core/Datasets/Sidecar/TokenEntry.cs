using System.Collections.Generic;

namespace Distillery.Core.Datasets.Sidecar;

/// <summary>One interned token of a dataset: its text as the teacher gave it, its bytes, and its id in the teacher's vocabulary where known. Every position that names it shares these instances.</summary>
public sealed record TokenEntry(string Token, IReadOnlyList<int> Bytes, int? Id);
