// Usage: dotnet LeadScoring.Fuzz.dll segment|framer|model   (under afl-fuzz: see scripts/fuzz.sh)
//        dotnet LeadScoring.Fuzz.dll TARGET FILE...         (replays inputs without afl, e.g. a crash to debug)
using LeadScoring.Fuzz;
using SharpFuzz;

if (args.Length == 0 || !FuzzTargets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: LeadScoring.Fuzz {string.Join('|', FuzzTargets.All.Keys)} [FILE...]");
    return 2;
}

if (args.Length > 1)
{
    foreach (var file in args.Skip(1))
    {
        target(File.ReadAllBytes(file));
        Console.WriteLine($"{file}: ok");
    }

    return 0;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target(buffer.ToArray());
});
return 0;
