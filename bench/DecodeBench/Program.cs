using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Distillery.Core.Chat;
using Distillery.Models.Decoding;
using Distillery.Models.Gguf;
using Distillery.Models.Llama;
using Distillery.Models.Runtime;
using Distillery.Teachers.Gguf;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Models;

// Single-stream greedy decode speed of Distillery against llama.cpp (LLamaSharp) on the same GGUF file, f32 and q8_0:
// a real family's full config (default SmolLM2-135M) with random weights, exported by Distillery. Distillery decodes the
// f32 file's weights in both rows (it dequantises q8_0 on load), so the q8_0 row compares llama.cpp's quantised kernels
// with Distillery's f32 path. Prints one Markdown table row per file.
// Usage: dotnet run -c Release --project bench/DecodeBench -- [--family smollm2] [--config FILE] [--tokens 64] [--rounds 3] [--layers N] [--threads 1] [--dir DIR]
var family = Flag("--family") ?? "smollm2";
var tokens = int.Parse(Flag("--tokens") ?? "64", CultureInfo.InvariantCulture);
var rounds = int.Parse(Flag("--rounds") ?? "3", CultureInfo.InvariantCulture);
var threads = int.Parse(Flag("--threads") ?? "1", CultureInfo.InvariantCulture);
var dir = Flag("--dir") ?? Directory.CreateTempSubdirectory("decode-bench-").FullName;
TorchRuntime.EnsureLoaded();
TorchSharp.torch.set_num_threads(threads);

var (cut, tokenizer) = await RealFamilies.LoadAsync(family);
var published = LlamaConfig.Parse(await File.ReadAllTextAsync(Flag("--config") ?? SharedTestData.Get("configs/smollm2-135m.json")), family);
// The published shapes (layers, width, heads, FFN) with the borrowed tokenizer's vocabulary where it is larger.
var config = published with { VocabSize = cut.VocabSize, BosTokenId = cut.BosTokenId, EosTokenIdRaw = cut.EosTokenIdRaw };
if (Flag("--layers") is { } layers) config = config with { NumHiddenLayers = int.Parse(layers, CultureInfo.InvariantCulture) };
using var model = RealFamilies.CreateRandom(config);
Console.WriteLine($"# {family}: {config.ParameterCount:N0} parameters, vocabulary {config.VocabSize} ({tokenizer.Name}), {config.NumHiddenLayers} layers; {tokens} tokens, best of {rounds}, {threads} thread(s)");
Console.WriteLine("| GGUF | file MiB | Distillery tok/s | llama.cpp tok/s | Distillery / llama.cpp |");
Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
var prompt = tokenizer.Encode("Once upon a time", addBos: tokenizer.BosId is not null).ToArray();
using var weights = new LlamaInferenceWeights(model);
var ours = Best(() =>
{
    var result = TextGenerator.Generate(weights, tokenizer, prompt, new SamplingParameters { Temperature = 0, MaxTokens = tokens });
    return result.CompletionTokens;
});
foreach (var type in new[] { GgmlType.F32, GgmlType.Q8_0 })
{
    var path = Path.Combine(dir, $"{family}-{type.ToString().ToLowerInvariant()}.gguf");
    LlamaGguf.Export(model, tokenizer, path, type, family);
    using var llama = LlamaCppModel.Load(path, contextSize: prompt.Length + tokens + 8, threads: threads);
    var theirs = Best(() => llama.Greedy(prompt, tokens).Count);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {type.ToString().ToLowerInvariant()} | {new FileInfo(path).Length / 1048576.0:F0} | {ours:F1} | {theirs:F1} | {ours / theirs:P0} |"));
    File.Delete(path);
}
return 0;

double Best(Func<int> decode)
{
    decode(); // warm-up
    var best = 0.0;
    for (var r = 0; r < rounds; r++)
    {
        var clock = Stopwatch.StartNew();
        var count = decode();
        best = Math.Max(best, count / clock.Elapsed.TotalSeconds);
    }
    return best;
}

string? Flag(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
