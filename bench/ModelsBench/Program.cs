using System;
using System.Diagnostics;
using Distillery.Core.Chat;
using Distillery.Core.IO;
using Distillery.Models.Checkpoints;
using Distillery.Models.Generation;
using Distillery.Models.Tokenizers;
using static TorchSharp.torch;

if (args.Length > 1 && args[1] == "ops") { OpsProbe.Run(); return; }
var path = SharedData.TryGet("stories260K/stories260K.bin") ?? throw new InvalidOperationException("needs shared/data");
using var model = await Llama2cCheckpoint.LoadAsync(path);
var tok = await Llama2cTokenizer.LoadAsync(SharedData.TryGet("stories260K/tok512.bin")!);
var threads = args.Length > 0 ? int.Parse(args[0]) : 1;
set_num_threads(threads);
var prompt = tok.Encode("", addBos: true);
var p = new SamplingParameters { Temperature = 0, MaxTokens = 256 };
TextGenerator.Generate(model, tok, prompt, p);
for (var i = 0; i < 3; i++)
{
    var sw = Stopwatch.StartNew();
    var r = TextGenerator.Generate(model, tok, prompt, p);
    Console.WriteLine($"{r.CompletionTokens / sw.Elapsed.TotalSeconds:F0} tok/s; {r.Timings}");
}
