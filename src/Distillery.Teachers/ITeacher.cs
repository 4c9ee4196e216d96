using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Provenance;

namespace Distillery.Teachers;

/// <summary>A teacher: given chat messages and sampling parameters, returns a completion with per-token logprobs and top-k alternatives, usage, and the model as reported.</summary>
/// <remarks>Failures are <see cref="TeacherException"/> with a <see cref="TeacherFailureKind"/> that says whether trying again can help. Retries, rate limits and caching are wrappers around a teacher, not flags inside one.</remarks>
public interface ITeacher
{
    /// <summary>Who this teacher is: provider, model asked for, endpoint.</summary>
    TeacherIdentity Identity { get; }

    /// <summary>Asks the teacher for one completion of the request's messages.</summary>
    Task<Completion> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default);
}
