using System;
using System.IO;

namespace Distillery.TestSupport.Files;

/// <summary>A fresh folder under the system temp folder, deleted with everything in it on dispose.</summary>
public sealed class ScratchFolder : IDisposable
{
    /// <summary>Creates the folder; the prefix names the test that owns it, for whoever finds one left behind.</summary>
    public ScratchFolder(string prefix = "distillery-test")
    {
        Path = Directory.CreateTempSubdirectory(prefix + "-").FullName;
    }

    /// <summary>The folder's full path.</summary>
    public string Path { get; }

    /// <summary>A path inside the folder (nothing is created).</summary>
    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Deletes the folder; one still held open (a child process not yet gone) is left to the OS's temp cleaning.</summary>
    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Still held open somewhere.
        }
        catch (UnauthorizedAccessException)
        {
            // Still held open somewhere.
        }
    }
}
