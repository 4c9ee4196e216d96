using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Chat;
using Distillery.Core.Provenance;

namespace Distillery.Teachers.Pool;

/// <summary>
/// One teacher served by several endpoints: each request goes to the least-loaded healthy endpoint (requests in flight
/// over weight), within that endpoint's own concurrency and rate limits; a retryable failure marks the endpoint unhealthy
/// for a while and the request fails over to the next. The identity names the pool (<c>pool:NAME</c>), not a URL, so ledger
/// keys do not depend on which endpoint answers; the completion records the one that did.
/// </summary>
public sealed class PoolTeacher : ITeacher
{
    /// <summary>How long an endpoint that failed is passed over while others are healthy.</summary>
    public static readonly TimeSpan Cooldown = TimeSpan.FromSeconds(30);

    private readonly IReadOnlyList<Member> members;
    private readonly TimeProvider clock;
    private readonly Lock gate = new();

    /// <summary>Creates a pool of named endpoint teachers (each already wrapped in its own rate limiter) with their specs.</summary>
    public PoolTeacher(string name, string model, IReadOnlyList<(PoolEndpoint Spec, ITeacher Teacher)> endpoints, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(model);
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.Count == 0) throw new ArgumentException("a pool needs at least one endpoint", nameof(endpoints));
        members = [.. endpoints.Select(e => new Member(e.Spec, e.Teacher))];
        clock = time ?? TimeProvider.System;
        Identity = new TeacherIdentity("openai", model, EndpointOf(name));
    }

    /// <summary>The endpoint a pool's identity records: <c>pool:NAME</c>.</summary>
    public static string EndpointOf(string name) => "pool:" + name;

    /// <inheritdoc />
    public TeacherIdentity Identity { get; }

    /// <inheritdoc />
    public async Task<Completion> CompleteAsync(TeacherRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var tried = new HashSet<Member>();
        TeacherException? last = null;
        while (Pick(tried) is { } member)
        {
            tried.Add(member);
            try
            {
                var completion = await member.SendAsync(request, cancellationToken);
                lock (gate) member.HealthyAgainAt = DateTimeOffset.MinValue;
                return completion with { AnsweredBy = member.Spec.Name };
            }
            catch (TeacherException e) when (e.IsRetryable)
            {
                lock (gate) member.HealthyAgainAt = clock.GetUtcNow() + Cooldown;
                last = e;
            }
            finally
            {
                lock (gate) member.InFlight--;
            }
        }
        // Every endpoint failed this request: the retry wrapper outside waits and asks the pool again.
        throw new TeacherException(last!.Kind, $"every endpoint of {Identity.Endpoint} failed; the last: {last.Message}", last.Status, last.RetryAfter, last);
    }

    /// <summary>The endpoint to try next: among those not yet tried, healthy ones first, then the least loaded for its weight; it is counted in flight at once.</summary>
    private Member? Pick(HashSet<Member> tried)
    {
        lock (gate)
        {
            var now = clock.GetUtcNow();
            var chosen = members.Where(m => !tried.Contains(m))
                .OrderBy(m => m.HealthyAgainAt > now)
                .ThenBy(m => (m.InFlight + 1) / m.Spec.Weight)
                .FirstOrDefault();
            if (chosen is not null) chosen.InFlight++;
            return chosen;
        }
    }

    private sealed class Member(PoolEndpoint spec, ITeacher teacher)
    {
        private readonly SemaphoreSlim? slots = spec.Concurrency > 0 ? new SemaphoreSlim(spec.Concurrency, spec.Concurrency) : null;

        public PoolEndpoint Spec { get; } = spec;

        /// <summary>Requests assigned and not finished (waiting for a slot or the rate limiter included); guarded by the pool's lock.</summary>
        public int InFlight { get; set; }

        /// <summary>Until when the endpoint counts as unhealthy; guarded by the pool's lock.</summary>
        public DateTimeOffset HealthyAgainAt { get; set; } = DateTimeOffset.MinValue;

        /// <summary>Sends within the endpoint's concurrency limit.</summary>
        public async Task<Completion> SendAsync(TeacherRequest request, CancellationToken cancellationToken)
        {
            if (slots is not null) await slots.WaitAsync(cancellationToken);
            try
            {
                return await teacher.CompleteAsync(request, cancellationToken);
            }
            finally
            {
                slots?.Release();
            }
        }
    }
}
