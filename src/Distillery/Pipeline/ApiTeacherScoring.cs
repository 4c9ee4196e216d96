using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Ledger;
using Distillery.Core.Pricing;
using Distillery.Teachers;
using Distillery.Teachers.Ledger;
using Distillery.Training.Language.Objectives;

namespace Distillery.Pipeline;

/// <summary>
/// An on-policy run's API teacher: text scored through <c>/v1/completions</c> (echo, logprobs, max_tokens 0), every request
/// through the ledger as <c>generate</c>'s are (retries, rate limits, pricing; an answered request is never sent again).
/// With a budget, no new request is sent once the run's new requests have cost that much: the requests of one batch go out
/// together, so the last batch may pass it by its own cost.
/// </summary>
internal sealed class ApiTeacherScoring : IAsyncDisposable
{
    /// <summary>Alternatives asked for per token: only the token's own logprob is used, and every server returns it with one.</summary>
    private const int TopLogprobs = 1;

    private readonly TeacherLedger ledger;
    private readonly LedgerTeacher teacher;
    private readonly IDisposable? inner;
    private readonly ModelPrice price;
    private readonly decimal? budget;
    private readonly Lock gate = new();
    private decimal spent;

    private ApiTeacherScoring(TeacherLedger ledger, LedgerTeacher teacher, IDisposable? inner, string ledgerLocation, ModelPrice price, decimal? budget)
    {
        this.ledger = ledger;
        this.teacher = teacher;
        this.inner = inner;
        this.price = price;
        this.budget = budget;
        Teacher = new ApiScoringTeacher(ScoreAsync, teacher.Identity.Endpoint, ledgerLocation);
    }

    /// <summary>The teacher as the training run takes it.</summary>
    public ApiScoringTeacher Teacher { get; }

    /// <summary>Opens the ledger (<paramref name="options"/>' path, else <c>ledger.db</c> in the student's output folder) and the teacher behind it.</summary>
    public static async Task<ApiTeacherScoring> OpenAsync(TrainOptions options, CancellationToken cancellationToken)
    {
        var config = options.Config;
        var scorer = TeacherFactory.CreateScoring(config.Teacher!, options.TeacherSettings);
        var path = options.LedgerPath;
        if (path is null)
        {
            Directory.CreateDirectory(config.Out);
            path = Path.Combine(config.Out, DatasetFolder.LedgerFile);
        }
        var ledger = await TeacherLedger.OpenAsync(path, cancellationToken);
        var location = LedgerLocation.IsDatabaseUrl(path) ? LedgerLocation.Display(path) : Path.GetFullPath(path);
        return new ApiTeacherScoring(ledger, await LedgerTeacher.OpenAsync(scorer, ledger, options.Price, cancellationToken: cancellationToken), scorer as IDisposable, location,
            options.Price, options.BudgetUsd);
    }

    /// <summary>
    /// The teacher's tokens of a text and their logprobs. A request the endpoint refuses or answers without prompt logprobs or
    /// their text offsets (it cannot score text: OpenAI's chat models, for one) is a one-line <see cref="InputException"/> naming the endpoint.
    /// </summary>
    private async Task<TeacherTextScore> ScoreAsync(string text, CancellationToken cancellationToken)
    {
        var request = new TeacherRequest([ChatMessage.User(text)], new SamplingParameters { MaxTokens = 0, TopLogprobs = TopLogprobs, Temperature = 1 });
        // An answer the ledger holds costs nothing; a new request is sent only while the run's spending is under the budget.
        var paid = !teacher.Holds(request);
        if (paid && budget is { } most)
            lock (gate)
                if (spent >= most)
                    throw new DistilleryException($"the budget of ${most} for scoring was reached (${spent} spent on new requests in this run); " +
                        "run again with --resume and a larger --budget-usd to go on (answered requests are read back from the ledger, not paid again)");
        Completion answer;
        try
        {
            answer = await teacher.CompleteAsync(request, cancellationToken);
        }
        catch (TeacherException e) when (!e.IsRetryable)
        {
            throw InputException.InField("--teacher", $"{teacher.Identity.Endpoint} cannot score text ({e.Message}); on-policy scoring needs /v1/completions with echo and prompt logprobs with their text_offset (vLLM, Together, distill serve), which OpenAI's chat models lack");
        }
        if (paid)
            lock (gate)
                spent += price.Cost(answer.Usage);
        return new TeacherTextScore([.. answer.Tokens.Select(t => t.Bytes.Count)], [.. answer.Tokens.Select(t => t.Logprob)]);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await teacher.DisposeAsync();
        await ledger.DisposeAsync();
        inner?.Dispose();
    }
}
