using BenchmarkDotNet.Running;
using LeadScoring.Benchmarks.Canonical;

// Tool modes (no BenchmarkDotNet): --verify checks the canonical workload against its reference values,
// state-size measures lead-state bytes per lead (§9.3), breakdown times variants of the apply path.
switch (args.FirstOrDefault())
{
    case "--verify":
        return CanonicalVerify.Run();
    case "state-size":
        return StateSizeTool.Run();
    case "breakdown":
        return BreakdownTool.Run(args[1..]);
}

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
