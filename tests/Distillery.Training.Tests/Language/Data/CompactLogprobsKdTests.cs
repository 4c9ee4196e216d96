using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Datasets.Sidecar;
using Distillery.Models.Runtime;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;
using Distillery.Training.Language.Data;
using Distillery.Training.Losses;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Distillery.Training.Tests.Language.Data;

/// <summary>The compact sidecar (float16 logprobs) gives the KD losses the inline JSON (doubles) gives, on a real teacher's data.</summary>
[Collection(SerialTorchCollection.Name)]
public sealed class CompactLogprobsKdTests(ITestOutputHelper output) : IDisposable
{
    private const double Tolerance = 1e-3;
    private readonly ScratchFolder scratch = new("compact-kd");

    public void Dispose() => scratch.Dispose();

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task KdLossesFromTheSidecarMatchThoseFromInlineJsonWithinOneThousandth()
    {
        TorchRuntime.EnsureLoaded();
        var json = await StoriesData.WriteAsync(Path.Combine(scratch.Path, "json"), rows: 16, maxTokens: 48, topLogprobs: 20, sampledLogprobs: 12, inline: true);
        var compact = Path.Combine(scratch.Path, "compact");
        Directory.CreateDirectory(compact);
        File.Copy(DatasetFolder.DataPath(json), DatasetFolder.DataPath(compact));
        var conversion = await DatasetConversion.ConvertAsync(compact);
        Assert.Equal(16, conversion.InlineRows);
        Assert.True(File.Exists(LogprobSidecar.LogprobsPath(compact)));

        var tokenizer = await TokenizerLoader.LoadAsync(StoriesData.TokenizerPath);
        var jsonRows = await DatasetReader.ReadAllRowsAsync(json);
        var compactRows = await DatasetReader.ReadAllRowsAsync(compact);
        var tokens = (double)jsonRows.Sum(r => r.Distillery!.Tokens.Count);
        output.WriteLine($"top-20 + 12 sampled, {tokens} completion tokens: {conversion.BytesBefore / tokens:F0} B/token inline, {conversion.BytesAfter / tokens:F1} B/token with the sidecar");
        Assert.True(conversion.BytesAfter * 10 < conversion.BytesBefore, $"{conversion.BytesAfter} bytes compact against {conversion.BytesBefore} inline");
        manual_seed(7);
        foreach (var samples in new[] { 0, 12 })
        {
            var options = new LmTokenization(64, WithTopK: true, TeacherSamples: samples);
            var fromJson = LmBatch.Collate(LmExampleBuilder.Build(jsonRows, tokenizer, ChatTemplate.Plain, options).Examples);
            var fromSidecar = LmBatch.Collate(LmExampleBuilder.Build(compactRows, tokenizer, ChatTemplate.Plain, options).Examples);
            Assert.Equal(fromJson.TopKIds!.data<long>().ToArray(), fromSidecar.TopKIds!.data<long>().ToArray());
            // A student that is not the teacher: random logits, sharper than uniform.
            var logits = randn([.. fromJson.Inputs.shape, tokenizer.VocabSize]) * 3;
            var normalizer = fromJson.TopKMask!.sum().item<long>();
            var policies = samples > 0 ? new TopKTailPolicy?[] { null } : [TopKTailPolicy.Renormalize, TopKTailPolicy.FoldTailIntoBucket, TopKTailPolicy.UniformTail];
            foreach (var policy in policies)
            {
                double Loss(LmBatch batch) => DistillationLosses.Kd(logits, policy is { } p
                    ? TeacherTargets.TopK(batch.TopKIds!, batch.TopKLogprobs!, p)
                    : TeacherTargets.Sampled(batch.TopKIds!, batch.TopKLogprobs!), batch.TopKMask!, normalizer).item<float>();
                var (a, b) = (Loss(fromJson), Loss(fromSidecar));
                output.WriteLine($"{policy?.ToString() ?? "sampled (12)"}: JSON {a:F6}, sidecar {b:F6}, difference {Math.Abs(a - b):E2}");
                Assert.True(Math.Abs(a - b) <= Tolerance, $"{policy?.ToString() ?? "sampled"}: {b} from the sidecar against {a} from JSON");
                Assert.True(a > 0.1, $"{policy}: the loss {a} is too small to show a difference");
            }
        }
    }
}
