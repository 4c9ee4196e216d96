using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Models.Checkpoints;
using Distillery.Models.Gguf;
using Distillery.Models.Llama;
using Distillery.Models.Loading;
using Distillery.Models.Lora;
using Distillery.TestSupport.Files;
using static TorchSharp.torch;

namespace Distillery.Models.Tests.Lora;

public sealed class LoraAdaptersTests : IDisposable
{
    private readonly ScratchFolder scratch = new("lora");

    public void Dispose() => scratch.Dispose();

    private static readonly LoraSettings Everywhere = new() { Rank = 4, Alpha = 8, Targets = LoraTarget.Names };

    private static Tensor Ids(long vocab) => tensor(new long[] { 1, 5, 7, 9, 11, 2, 200 % vocab, 4 }, [2, 4]); // (B, T)

    private static float MaxDiff(Tensor a, Tensor b) => a.sub(b).abs().max().item<float>();

    /// <summary>Gives every B random values, so the adapters change the model's output.</summary>
    private static void Perturb(LoraAdapters adapters, long seed)
    {
        using var generator = new Generator((ulong)seed);
        using var noGrad = no_grad();
        foreach (var (name, p) in adapters.named_parameters())
            if (name.EndsWith(LoraAdapter.BName, StringComparison.Ordinal)) p.normal_(0, 0.05, generator);
    }

    [Fact]
    public void GradientsReachOnlyTheAdaptersAndTheBaseStaysBitForBit()
    {
        using var model = LlamaForCausalLM.Create(TinyConfigs.Gqa(), seed: 3);
        var ids = Ids(model.Config.VocabSize);
        using var baseLogits = model.forward(ids).detach();
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        using var adapters = LoraAdapters.Attach(model, Everywhere, seed: 1);

        Assert.All(model.parameters(), p => Assert.False(p.requires_grad));
        var c = model.Config;
        long perLayer = 4 * ((c.HiddenSize + c.NumAttentionHeads * c.HeadDim) + 2 * (c.HiddenSize + c.KeyValueHeads * c.HeadDim)
            + (c.NumAttentionHeads * c.HeadDim + c.HiddenSize) + 2 * (c.HiddenSize + c.IntermediateSize) + (c.IntermediateSize + c.HiddenSize));
        Assert.Equal(c.NumHiddenLayers * perLayer + 4 * (c.HiddenSize + c.VocabSize), adapters.TrainableParameters);
        Assert.Equal(0f, MaxDiff(model.forward(ids), baseLogits)); // B starts at zero: the adapters start as no-ops

        var initial = adapters.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());
        using var optimizer = optim.AdamW(adapters.parameters(), lr: 1e-2);
        for (var step = 0; step < 3; step++)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var logits = model.forward(ids); // (B, T, V)
            var loss = nn.functional.cross_entropy(logits.narrow(1, 0, 3).reshape(-1, c.VocabSize), ids.narrow(1, 1, 3).reshape(-1));
            loss.backward();
            Assert.All(model.parameters(), p => Assert.Null(p.grad));
            optimizer.step();
        }

        foreach (var (name, p) in model.named_parameters()) Assert.True(MaxDiff(p, before[name]) == 0, $"base weight {name} moved");
        foreach (var (name, p) in adapters.named_parameters()) Assert.True(MaxDiff(p, initial[name]) > 0, $"adapter {name} did not move");
    }

    [Fact]
    public void MergedWeightsGiveTheAdapterModelsLogits()
    {
        using var model = LlamaForCausalLM.Create(TinyConfigs.Gqa(), seed: 4);
        var ids = Ids(model.Config.VocabSize);
        using var baseLogits = model.forward(ids).detach();
        using var adapters = LoraAdapters.Attach(model, Everywhere, seed: 2);
        Perturb(adapters, 5);
        using var adapted = model.forward(ids).detach();
        Assert.True(MaxDiff(adapted, baseLogits) > 1e-3, "the perturbed adapters should change the logits");

        adapters.Merge();
        using var merged = model.forward(ids).detach(); // the hooks are gone: this is the merged weights alone
        Assert.True(MaxDiff(merged, adapted) < 1e-5, $"merged logits differ by {MaxDiff(merged, adapted)}");
    }

    [Fact]
    public void MergeIsWPlusScaleTimesBA()
    {
        using var w = randn(6, 5);
        using var a = randn(2, 5);
        using var b = randn(6, 2);
        using var x = randn(3, 5);
        using var merged = LoraMath.Merged(w, a, b, 1.5);
        using var expected = w + 1.5 * b.matmul(a);
        Assert.True(MaxDiff(merged, expected) < 1e-5);
        // The adapter's output equals the merged weight's extra output on any input.
        using var delta = LoraMath.Delta(x, a, b, 1.5);
        Assert.True(MaxDiff(nn.functional.linear(x, merged), nn.functional.linear(x, w) + delta) < 1e-4);
    }

    [Fact]
    public void BadSettingsAreOneLineErrorsNamingTheirOption()
    {
        using var tied = LlamaForCausalLM.Create(TinyConfigs.Gqa(tied: true), seed: 1);
        var zeroRank = Assert.Throws<InputException>(() => LoraAdapters.Attach(tied, new LoraSettings { Rank = 0 }, 1));
        Assert.StartsWith("--lora-rank:", zeroRank.Message);
        var unknown = Assert.Throws<InputException>(() => LoraAdapters.Attach(tied, new LoraSettings { Targets = ["q", "attn"] }, 1));
        Assert.StartsWith("--lora-targets: 'attn' is not a target", unknown.Message);
        var lacking = Assert.Throws<InputException>(() => LoraAdapters.Attach(tied, new LoraSettings { Targets = ["q", "lm_head"] }, 1));
        Assert.StartsWith("--lora-targets: lm_head:", lacking.Message);
        Assert.All(new[] { zeroRank, unknown, lacking }, e => Assert.Single(e.Message.Split('\n')));
        Assert.All(tied.parameters(), p => Assert.True(p.requires_grad)); // refused before anything was frozen
    }

    [Fact]
    public async Task AnAdapterFolderLoadsMergedExportsMergedAndRefusesAChangedBase()
    {
        var baseFile = Path.Combine(scratch.Path, "base.bin");
        File.Copy(Stories260K.Path("stories260K/stories260K.bin"), baseFile);
        File.Copy(Stories260K.Path("stories260K/tok512.bin"), Path.Combine(scratch.Path, "tok512.bin"));
        var baseSpec = "llama2c:" + baseFile;
        var folder = Path.Combine(scratch.Path, "adapters");
        Tensor adapted;
        var ids = Ids(512);
        using (var bundle = await ModelLoader.LoadAsync(baseSpec))
        {
            var sha = WeightsHash.Of(bundle.Model);
            using var adapters = LoraAdapters.Attach(bundle.Model, new LoraSettings { Rank = 2, Targets = ["q", "v", "down"] }, seed: 3);
            Perturb(adapters, 6);
            adapted = bundle.Model.forward(ids).detach();
            await LoraFolder.SaveAsync(folder, adapters, LoraFolder.Describe(adapters, baseSpec, sha));
        }
        Assert.False(File.Exists(Path.Combine(folder, CheckpointFolder.WeightsFile))); // adapters only

        using (var merged = await ModelLoader.LoadAsync("checkpoint:" + folder))
        {
            Assert.True(MaxDiff(merged.Model.forward(ids), adapted) < 1e-5);
            var gguf = Path.Combine(scratch.Path, "merged.gguf");
            LlamaGguf.Export(merged.Model, merged.Tokenizer, gguf);
            using var fromGguf = await ModelLoader.LoadAsync("gguf:" + gguf);
            Assert.True(MaxDiff(fromGguf.Model.forward(ids), adapted) < 1e-5, "GGUF export lost the adapters");
            var hf = Path.Combine(scratch.Path, "merged-hf");
            await merged.SaveAsync(hf);
            using var fromHf = await ModelLoader.LoadAsync("checkpoint:" + hf);
            Assert.True(MaxDiff(fromHf.Model.forward(ids), adapted) < 1e-5, "safetensors export lost the adapters");
        }

        // Another base under the same path: the folder refuses it.
        var bytes = await File.ReadAllBytesAsync(baseFile);
        BitConverter.GetBytes(0.25f).CopyTo(bytes, 28 + 4 * 100); // a token embedding value, just past the 7-int header
        await File.WriteAllBytesAsync(baseFile, bytes);
        var error = await Assert.ThrowsAsync<InputException>(() => ModelLoader.LoadAsync("checkpoint:" + folder));
        Assert.StartsWith("model: the base model llama2c:", error.Message);
        Assert.Contains("has changed since the adapters were trained", error.Message);
        Assert.Single(error.Message.Split('\n'));
        adapted.Dispose();
    }
}
