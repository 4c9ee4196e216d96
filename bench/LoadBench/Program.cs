using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Distillery.Models.Checkpoints;
using Distillery.Models.Llama;
using Distillery.TestSupport.Files;
using static TorchSharp.torch;

// Load time and peak memory of a real-sized model folder: Qwen3-0.6B's config with random weights, stored in bf16
// (as published), loaded into float32. Run each step in its own process so that the peak (VmHWM) is the load's alone.
// Usage: dotnet run -c Release --project bench/LoadBench -- write DIR [--layers N] [--config NAME] (NAME in shared configs/, default qwen3-0.6b)
//        dotnet run -c Release --project bench/LoadBench -- load DIR
var culture = CultureInfo.InvariantCulture;
if (args.Length < 2 || args[0] is not ("write" or "load"))
{
    Console.Error.WriteLine("usage: LoadBench write DIR [--layers N] | LoadBench load DIR");
    return 2;
}
var dir = args[1];
Distillery.Models.Runtime.TorchRuntime.EnsureLoaded();
if (args[0] == "write")
{
    var name = Array.IndexOf(args, "--config") is var c and >= 0 ? args[c + 1] : "qwen3-0.6b";
    var config = LlamaConfig.Parse(File.ReadAllText(SharedTestData.Get($"configs/{name}.json")));
    var layers = Array.IndexOf(args, "--layers") is var i and >= 0 ? int.Parse(args[i + 1], culture) : config.NumHiddenLayers;
    config = config with { NumHiddenLayers = layers };
    using var model = LlamaForCausalLM.Create(config, seed: 1);
    await CheckpointFolder.SaveAsync(dir, model, dtype: ScalarType.BFloat16, maxShardBytes: 512L << 20);
    Console.WriteLine(string.Create(culture, $"wrote {dir}: {config.ParameterCount:N0} parameters in bf16"));
    return 0;
}
var fileBytes = Directory.EnumerateFiles(dir, "*.safetensors").Sum(f => new FileInfo(f).Length);
var before = Peak();
var clock = Stopwatch.StartNew();
using var loaded = await CheckpointFolder.LoadAsync(dir);
var seconds = clock.Elapsed.TotalSeconds;
var after = Peak();
var modelBytes = loaded.ParameterCount * 4;
Console.WriteLine(string.Create(culture,
    $"loaded {loaded.ParameterCount:N0} parameters from {fileBytes / 1048576.0:N0} MiB of bf16 safetensors in {seconds:F1} s; " +
    $"peak RSS {before / 1048576.0:N0} MiB before, {after / 1048576.0:N0} MiB after (+{(after - before) / 1048576.0:N0} MiB; " +
    $"the f32 model alone is {modelBytes / 1048576.0:N0} MiB, model and file together {(modelBytes + fileBytes) / 1048576.0:N0} MiB)"));
return 0;

static long Peak()
{
    // VmHWM: the resident set's high-water mark, in kB.
    var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
}
