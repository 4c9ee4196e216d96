using System;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Specs;
using Distillery.Models.Loading;
using Distillery.Server;
using Distillery.Teachers.Labeling;
using Distillery.Teachers.Local;
using Distillery.Teachers.OpenAi;
using Distillery.TestSupport.Files;
using Xunit.Abstractions;

namespace Distillery.Teachers.Tests.Ledger;

/// <summary>
/// The ledger alone makes a run's dataset again after its --out folder is gone, the same rows byte for byte; and dataset and ledger
/// together stay within issue 18's 150 bytes per completion token at top-20. Real stories260K answers, from the local
/// teacher and over the OpenAI API from <c>distill serve</c> (tokens whose bytes are not UTF-8 are covered by StoredResponseTests).
/// </summary>
[Trait("Speed", "Slow")]
public sealed class LedgerStorageTests(ITestOutputHelper output)
{
    private const double TargetBytesPerToken = 150;
    private const int Prompts = 48;

    [Fact]
    public async Task A_local_teachers_dataset_made_again_from_the_ledger_alone_is_the_same_bytes_within_the_storage_target()
    {
        using var teacher = await LocalTeacher.LoadAsync(ModelSpec.Parse("llama2c:" + SharedTestData.Get("stories260K/stories260K.bin"), "--teacher"));
        await RemadeFromTheLedgerAsync(teacher);
    }

    [Fact]
    public async Task An_openai_teachers_dataset_made_again_from_the_ledger_alone_is_the_same_bytes_within_the_storage_target()
    {
        using var bundle = await ModelLoader.LoadAsync("llama2c:" + SharedTestData.Get("stories260K/stories260K.bin"));
        await using var server = await OpenAiServer.StartAsync(new ModelBundleService(bundle, "stories260K"), new ServerOptions { Port = 0, ApiKey = "sk-serve" });
        var api = new OpenAiTeacher("stories260K", new Uri(server.BaseAddress, "v1"), "sk-serve", TimeSpan.FromSeconds(60));
        await RemadeFromTheLedgerAsync(TeacherFactory.Wrap(api, new TeacherSettings()));
    }

    private async Task RemadeFromTheLedgerAsync(ITeacher teacher)
    {
        using var dir = new ScratchFolder();
        var prompts = dir.File("prompts.txt");
        await File.WriteAllLinesAsync(prompts, (await File.ReadAllLinesAsync(Path.Combine(RepositoryRoot(), "demo", "story-openings.txt"))).Take(Prompts));
        var options = new LabelingOptions
        {
            PromptsPath = prompts,
            OutputDirectory = dir.File("out"),
            LedgerPath = dir.File("ledger.db"),
            Sampling = new SamplingParameters { Temperature = 1, MaxTokens = 96, TopLogprobs = 20, Seed = 3 },
        };
        var live = await new LabelingRunner(teacher, options).RunAsync();
        Assert.Equal((Prompts, 0), (live.Answered, live.FromLedger));
        var rows = await DatasetReader.ReadAllRowsAsync(options.OutputDirectory);
        var dataBytes = DatasetConversion.DataBytes(options.OutputDirectory);
        var ledgerBytes = new FileInfo(options.LedgerLocation).Length;
        Directory.Move(options.OutputDirectory, dir.File("live"));

        var again = await new LabelingRunner(teacher, options).RunAsync();

        Assert.Equal((0, Prompts), (again.Answered, again.FromLedger));
        // The sidecar's blocks lie in the order answers arrived, which a live run's concurrent ledger commits may swap: both
        // folders are compared as they are line by line (the block references aside), and byte for byte once rewritten in prompt order.
        Assert.Equal(WithoutBlockReferences(dir.File("live")), WithoutBlockReferences(options.OutputDirectory));
        foreach (var (folder, copy) in new[] { (dir.File("live"), dir.File("live-rewritten")), (options.OutputDirectory, dir.File("again-rewritten")) })
        {
            await using var writer = await DatasetWriter.OpenAsync(copy);
            await writer.RewriteAsync(await DatasetReader.ReadAllRowsAsync(folder));
        }
        foreach (var file in new[] { DatasetFolder.DataFile, "tokens.bin", "logprobs.bin" })
            Assert.True(File.ReadAllBytes(Path.Combine(dir.File("live-rewritten"), file)).SequenceEqual(File.ReadAllBytes(Path.Combine(dir.File("again-rewritten"), file))), $"{file} differs");
        Assert.All(rows.SelectMany(r => r.Distillery!.Tokens), t => Assert.Equal(20, t.TopLogprobs.Count));
        var perToken = (double)(dataBytes + ledgerBytes) / live.CompletionTokens;
        output.WriteLine($"{live.CompletionTokens} completion tokens: data {dataBytes:N0} B, ledger {ledgerBytes:N0} B, {perToken:F1} B/token together");
        Assert.True(perToken <= TargetBytesPerToken, $"{perToken:F1} bytes per completion token for data and ledger together");
    }

    /// <summary>A folder's data.jsonl with each row's sidecar reference (<c>"logprobs":{"offset":…,"length":…}</c>) left out.</summary>
    private static string[] WithoutBlockReferences(string folder) =>
        [.. File.ReadAllLines(Path.Combine(folder, DatasetFolder.DataFile)).Select(l => Regex.Replace(l, "\"logprobs\":\\{[^}]*\\},", ""))];

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Distillery.slnx"))) return dir.FullName;
        throw new InvalidOperationException("the tests run from inside the repository");
    }
}
