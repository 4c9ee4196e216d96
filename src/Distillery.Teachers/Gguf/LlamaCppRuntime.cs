using System;
using Distillery.Core.Errors;
using LLama.Native;

namespace Distillery.Teachers.Gguf;

/// <summary>Probes whether llama.cpp's native backend (through LLamaSharp) loads on this machine.</summary>
public static class LlamaCppRuntime
{
    /// <summary>Loads the backend and returns its system line, or the reason it failed to load.</summary>
    public static (bool Loaded, string Detail) Probe()
    {
        try
        {
            NativeApi.llama_empty_call();
            var info = System.Runtime.InteropServices.Marshal.PtrToStringUTF8(NativeApi.llama_print_system_info()) ?? "";
            return (true, info.Split('|', StringSplitOptions.TrimEntries)[0]);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or LLama.Exceptions.RuntimeError or EntryPointNotFoundException)
        {
            var inner = e;
            while (inner.InnerException is not null) inner = inner.InnerException;
            return (false, ErrorText.FirstLine(inner));
        }
    }
}
