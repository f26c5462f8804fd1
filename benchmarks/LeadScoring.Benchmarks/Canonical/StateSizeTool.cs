namespace LeadScoring.Benchmarks.Canonical;

public static class StateSizeTool
{
    public static int Run() => 0;
}

public static class BreakdownTool
{
    public static int Run(string[] args) => args.Length;
}
