using System;
using Distillery.Teachers.OpenAi;
using Distillery.Teachers.Resilience;
using Distillery.TestSupport.Servers;

namespace Distillery.Teachers.Tests;

/// <summary>Teachers wired to a fake server, with short backoffs so fault tests stay fast.</summary>
public static class TestTeachers
{
    public const string Key = "sk-test-secret-0123456789";

    public static RetryOptions FastRetry { get; } = new() { MaxRetries = 4, BaseDelay = TimeSpan.FromMilliseconds(20), MaxDelay = TimeSpan.FromMilliseconds(200) };

    public static OpenAiTeacher Raw(FakeOpenAiServer server, TimeSpan? timeout = null) =>
        new("gpt-test", server.BaseUrl, Key, timeout ?? TimeSpan.FromSeconds(10));

    public static ITeacher Resilient(FakeOpenAiServer server, TeacherStatistics statistics, TimeSpan? timeout = null, RetryOptions? retry = null, TimeProvider? time = null) =>
        TeacherFactory.Wrap(Raw(server, timeout), new TeacherSettings { Retry = retry ?? FastRetry, Statistics = statistics }, time);
}
