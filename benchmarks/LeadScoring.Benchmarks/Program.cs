using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Running;
using LeadScoring.Benchmarks.Canonical;

// Tool modes (no BenchmarkDotNet): --verify checks the canonical workload against its reference values,
// state-size measures lead-state bytes per lead (§9.3), breakdown times variants of the apply path.
switch (args.FirstOrDefault())
{
    case "--verify":
        return CanonicalVerify.Run();
    case "--verify-shaped":
        return ShapedVerify.Run();
    case "state-size":
        return StateSizeTool.Run();
    case "pipeline":
        return PipelineTool.Run(args[1..]);
    case "breakdown":
        return BreakdownTool.Run(args[1..]);
}

// Exit code 1 when a benchmark failed or could not run. BenchmarkDotNet reports an exception of a [GlobalCleanup]
// (such as a §7 check that throws) only as an "// ERROR:" line, so those lines are counted too: CI's smoke pass
// must see them.
var errors = new ErrorCounter();
var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, DefaultConfig.Instance.AddLogger(errors));
bool failed = errors.Count > 0
    || summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success) || s.Reports.Length < s.BenchmarksCases.Length);
if (failed)
{
    Console.Error.WriteLine($"benchmarks FAILED: {errors.Count} error(s) logged, {summaries.Sum(s => s.Reports.Count(r => !r.Success))} benchmark(s) without a result");
}

return failed ? 1 : 0;

/// <summary>Counts the <c>// ERROR:</c> lines BenchmarkDotNet logs for a benchmark run (an exception in a setup or cleanup, for instance).</summary>
internal sealed class ErrorCounter : ILogger
{
    public int Count { get; private set; }

    public string Id => nameof(ErrorCounter);

    public int Priority => 0;

    public void Write(LogKind logKind, string text) => See(logKind, text);

    public void WriteLine() { }

    public void WriteLine(LogKind logKind, string text) => See(logKind, text);

    public void Flush() { }

    private void See(LogKind logKind, string text)
    {
        // Only the errors of a benchmark run: validation errors (some of them harmless, such as an assembly built
        // under /tmp) are judged by the summary's HasCriticalValidationErrors.
        if (text.StartsWith("// ERROR:", StringComparison.Ordinal))
        {
            Count++;
        }
    }
}
