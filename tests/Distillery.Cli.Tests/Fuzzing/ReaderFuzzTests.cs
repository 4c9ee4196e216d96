using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Datasets.Sidecar;
using Distillery.Core.Errors;
using Distillery.Core.Pipelines;
using Distillery.Core.Prompts;
using Distillery.Core.Provenance;
using Distillery.Models.Checkpoints;
using Distillery.Models.Gguf;
using Distillery.Models.Tokenizers;
using Distillery.TestSupport.Files;
using Distillery.TestSupport.Tokenizers;
using Xunit.Abstractions;

namespace Distillery.Cli.Tests.Fuzzing;

/// <summary>
/// Every file reader, fed damaged copies of a valid file (fixed seed, fixed count), either loads it or throws an
/// <see cref="InputException"/>: never another exception, which the CLI would report as an internal error.
/// </summary>
public sealed class ReaderFuzzTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 20;
    private const int CasesPerFormat = 60;
    private readonly ScratchFolder dir = new();

    /// <summary>One format: its seed file's name and bytes, and the reader that loads a file of that name from a folder.</summary>
    private sealed record Format(string Name, string FileName, byte[] Seed, Func<string, Task> Load);

    public void Dispose() => dir.Dispose();

    private async Task<IReadOnlyList<Format>> FormatsAsync()
    {
        var compact = dir.File("seed-compact");
        await SeedFiles.WriteCompactDatasetAsync(compact);
        var gguf = dir.File("seed.gguf");
        SeedFiles.WriteGguf(gguf);
        var checkpoint = dir.File("seed-checkpoint");
        SeedFiles.WriteCheckpointFolder(checkpoint);
        var random = new Random(Seed);
        return
        [
            new("gguf", "model.gguf", File.ReadAllBytes(gguf), path =>
            {
                var (model, _) = LlamaGguf.Load(path);
                model.Dispose();
                return Task.CompletedTask;
            }),
            new("llama2.c checkpoint", "model.bin", SeedFiles.Llama2cCheckpointBytes(random), async path => (await Llama2cCheckpoint.LoadAsync(path)).Dispose()),
            new("safetensors", CheckpointFolder.WeightsFile, File.ReadAllBytes(Path.Combine(checkpoint, CheckpointFolder.WeightsFile)), async path =>
            {
                File.Copy(Path.Combine(checkpoint, CheckpointFolder.ConfigFile), Path.Combine(Path.GetDirectoryName(path)!, CheckpointFolder.ConfigFile), overwrite: true);
                (await CheckpointFolder.LoadAsync(Path.GetDirectoryName(path)!)).Dispose();
            }),
            new("config.json", CheckpointFolder.ConfigFile, File.ReadAllBytes(Path.Combine(checkpoint, CheckpointFolder.ConfigFile)), async path =>
            {
                File.Copy(Path.Combine(checkpoint, CheckpointFolder.WeightsFile), Path.Combine(Path.GetDirectoryName(path)!, CheckpointFolder.WeightsFile), overwrite: true);
                (await CheckpointFolder.LoadAsync(Path.GetDirectoryName(path)!)).Dispose();
            }),
            new("llama2.c tokenizer", Llama2cTokenizer.FileName, SeedFiles.Llama2cTokenizerBytes(), async path => await Llama2cTokenizer.LoadAsync(path)),
            new("tokenizer.json", HfTokenizer.FileName, Encoding.UTF8.GetBytes(SeedFiles.TokenizerJson()), async path => (await HfTokenizer.LoadAsync(path)).Encode("abc ab")),
            new("SentencePiece model", SentencePieceTextTokenizer.FileName, File.ReadAllBytes(TokenizerData.Committed("spm-bpe-1024/tokenizer.model")),
                async path => (await TokenizerLoader.LoadAsync(path)).Encode("Once upon a time, 42 cats.")),
            new("tiktoken.json", TiktokenTextTokenizer.FileName, Encoding.UTF8.GetBytes(SeedFiles.TiktokenJson()), async path => (await TokenizerLoader.LoadAsync(path)).Encode("abc ab")),
            new("IDX images (gzip)", "train-images-idx3-ubyte.gz", SeedFiles.IdxImages(5, gzip: true), path =>
            {
                File.WriteAllBytes(Path.Combine(Path.GetDirectoryName(path)!, "train-labels-idx1-ubyte"), SeedFiles.IdxLabels(5));
                IdxImageSet.Load(path, Path.Combine(Path.GetDirectoryName(path)!, "train-labels-idx1-ubyte"));
                return Task.CompletedTask;
            }),
            new("IDX labels", "labels-idx1-ubyte", SeedFiles.IdxLabels(9), path =>
            {
                IdxReader.Read(path, expectedDimensions: 1);
                return Task.CompletedTask;
            }),
            new("dataset rows", DatasetFolder.DataFile, Encoding.UTF8.GetBytes(SeedFiles.DatasetRows()), async path => await DatasetReader.ReadAllRowsAsync(Path.GetDirectoryName(path)!)),
            Sidecar("logprob blocks", LogprobSidecar.LogprobsFile, compact),
            Sidecar("token table", LogprobSidecar.TokensFile, compact),
            new("lineage", LineageFile.Name, Encoding.UTF8.GetBytes(SeedFiles.Lineage()), async path =>
            {
                var lineage = await LineageFile.ReadAsync(Path.GetDirectoryName(path)!);
                Assert.NotNull(lineage);
                Assert.All(lineage.Datasets, d => Assert.NotNull(d.Path));
            }),
            new("prompts", "prompts.jsonl", Encoding.UTF8.GetBytes(SeedFiles.Prompts()), async path => await PromptFile.ReadAsync(path)),
            new("pipeline", "pipeline.json", Encoding.UTF8.GetBytes(SeedFiles.Pipeline()), path =>
            {
                var pipeline = PipelineDefinition.Load(path);
                pipeline.ResolveVariables(new Dictionary<string, string>(), new Dictionary<string, string>());
                return Task.CompletedTask;
            }),
        ];
    }

    [Fact]
    public async Task Every_seed_file_loads()
    {
        foreach (var format in await FormatsAsync())
        {
            var path = Place(format, format.Seed, "seed");
            await format.Load(path);
        }
    }

    [Trait("Speed", "Slow")]
    [Fact]
    public async Task Damaged_files_load_or_fail_with_an_input_error_and_nothing_else()
    {
        var formats = await FormatsAsync();
        var random = new Random(Seed);
        var unexpected = new List<string>();
        var (loaded, refused) = (0, 0);
        foreach (var format in formats)
        {
            for (var i = 0; i < CasesPerFormat; i++)
            {
                var (bytes, what) = Corruption.Apply(format.Seed, random);
                var path = Place(format, bytes, $"case-{i}");
                try
                {
                    await format.Load(path);
                    loaded++;
                }
                catch (InputException e)
                {
                    if (e.Message.Contains('\n', StringComparison.Ordinal)) unexpected.Add($"{format.Name}, case {i} ({what}): a message of more than one line");
                    refused++;
                }
                catch (Exception e)
                {
                    unexpected.Add($"{format.Name}, case {i} ({what}): {e.GetType().Name}: {ErrorText.FirstLine(e)}");
                }
            }
        }
        output.WriteLine($"{formats.Count * CasesPerFormat} damaged files: {loaded} loaded, {refused} refused with an InputException, {unexpected.Count} other exceptions");
        Assert.True(formats.Count * CasesPerFormat >= 200, "the fuzzer runs at least 200 corruptions");
        Assert.True(unexpected.Count == 0, $"{unexpected.Count} of {formats.Count * CasesPerFormat} damaged files raised something other than an InputException:\n" + string.Join('\n', unexpected));
        // The damage is real: most cases are refused, and the readers are not refusing everything.
        Assert.True(refused > formats.Count * CasesPerFormat / 3, $"only {refused} refused");
        Assert.True(loaded > 0, "no damaged file loaded at all; are the readers refusing everything?");
    }

    /// <summary>One file of a compact dataset's sidecar, damaged beside the whole rest of the folder: read, then opened for appending.</summary>
    private static Format Sidecar(string name, string fileName, string seedFolder) => new(name, fileName, File.ReadAllBytes(Path.Combine(seedFolder, fileName)), async path =>
    {
        var folder = Path.GetDirectoryName(path)!;
        foreach (var other in new[] { DatasetFolder.DataFile, LogprobSidecar.LogprobsFile, LogprobSidecar.TokensFile })
            if (other != fileName) File.Copy(Path.Combine(seedFolder, other), Path.Combine(folder, other), overwrite: true);
        Assert.Equal(2, (await DatasetReader.ReadAllRowsAsync(folder)).Count);
        await (await DatasetWriter.OpenAsync(folder)).DisposeAsync();
    });

    private string Place(Format format, byte[] bytes, string caseName)
    {
        var folder = dir.File($"{format.Name.Replace(' ', '-').Replace('.', '-')}-{caseName}");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, format.FileName);
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
