using System;
using System.Diagnostics;
using static TorchSharp.torch;

internal static class OpsProbe
{
    public static void Run()
    {
        set_num_threads(1);

var a = randn(1, 64); var w = randn(64, 192); var b = randn(1,64);
for (int rep = 0; rep < 3; rep++) {
var sw = Stopwatch.StartNew();
for (int i = 0; i < 20000; i++) { using var s = NewDisposeScope(); var c = a.add(b); }
Console.WriteLine($"add in scope: {sw.Elapsed.TotalMilliseconds * 1000 / 20000:F2} us");
sw.Restart();
for (int i = 0; i < 20000; i++) { using var c = a.add(b); }
Console.WriteLine($"add using: {sw.Elapsed.TotalMilliseconds * 1000 / 20000:F2} us");
sw.Restart();
for (int i = 0; i < 20000; i++) { a.add_(b); }
Console.WriteLine($"add_: {sw.Elapsed.TotalMilliseconds * 1000 / 20000:F2} us");
sw.Restart();
for (int i = 0; i < 20000; i++) { using var c = a.matmul(w); }
Console.WriteLine($"matmul: {sw.Elapsed.TotalMilliseconds * 1000 / 20000:F2} us");
sw.Restart();
for (int i = 0; i < 20000; i++) { using var c = a.narrow(1, 0, 8); }
Console.WriteLine($"narrow: {sw.Elapsed.TotalMilliseconds * 1000 / 20000:F2} us");
using (var inf = inference_mode()) {
sw.Restart();
for (int i = 0; i < 20000; i++) { using var c = a.add(b); }
Console.WriteLine($"add inference: {sw.Elapsed.TotalMilliseconds * 1000 / 20000:F2} us");
}
}
    }
}
