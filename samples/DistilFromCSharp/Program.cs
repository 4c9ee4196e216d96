// Distils stories260K (a llama2.c model) into a student a seventh of its size, with Distillery's pipeline API:
// the teacher labels story openings, the student trains on the teacher's top-5 logprobs, and both are scored on held-out openings.
// Usage: dotnet run -- PATH/stories260K.bin PROMPTS.txt WORK_DIR
using System;
using System.IO;
using System.Linq;
using Distillery.Core.Chat;
using Distillery.Evaluation;
using Distillery.Pipeline;
using Distillery.Teachers.Labeling;
using Distillery.Training.Language.Configuration;

var (teacherFile, promptsFile, work) = (Path.GetFullPath(args[0]), args[1], Directory.CreateDirectory(args[2]).FullName);
var teacher = "llama2c:" + teacherFile;
var openings = File.ReadLines(promptsFile).Where(line => line.Length > 0).ToList();
File.WriteAllLines(Path.Combine(work, "train.txt"), openings.Take(48));
File.WriteAllLines(Path.Combine(work, "heldout.txt"), openings.Skip(48).Take(12));

var sampling = new SamplingParameters { Temperature = 1, MaxTokens = 64, TopLogprobs = 5, Seed = 1 };
foreach (var split in new[] { "train", "heldout" })
{
    var labels = new LabelingOptions { PromptsPath = Path.Combine(work, split + ".txt"), OutputDirectory = Path.Combine(work, split), Sampling = sampling };
    var data = await DistilleryPipeline.GenerateAsync(new GenerateOptions { TeacherSpec = teacher, Labeling = labels });
    Console.WriteLine($"{split}: {data.Summary.RowsDone} rows, {data.Summary.CompletionTokens} teacher tokens");
}

var student = await DistilleryPipeline.TrainAsync(new TrainOptions
{
    Config = new LmTrainingConfig
    {
        Data = Path.Combine(work, "train"), Out = Path.Combine(work, "student"), Mode = LmMode.Topk, StudentPreset = "tiny",
        Tokenizer = Path.Combine(Path.GetDirectoryName(teacherFile)!, "tok512.bin"), ChatTemplate = "plain",
        Steps = 100, BatchSize = 8, SeqLen = 96, LearningRate = 0.004, Seed = 1,
    },
});
Console.WriteLine($"student: {student.StudentParameters} parameters, final train loss {student.Result.FinalLoss:F3}, in {student.ModelDirectory}");

var scores = await DistilleryPipeline.EvaluateAsync(new EvaluateOptions
{
    Teacher = new NamedModel("teacher", teacher), Models = [new NamedModel("student", "checkpoint:" + student.ModelDirectory)],
    Data = Path.Combine(work, "heldout"), Samples = 0,
});
foreach (var model in scores.Report.Models)
    Console.WriteLine($"{model.Name}: held-out cross-entropy {model.CrossEntropy:F3} nats/token, {model.Parameters} parameters");
