using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// <c>--verify-shaped</c>: the sample-shaped stream of <see cref="ApplyBenchmarks.SampleShaped"/> (late messages,
/// retries, merges) must give every lead the total the in-order stream gives; lists the leads that differ.
/// </summary>
public static class ShapedVerify
{
    public static int Run()
    {
        var w = CanonicalWorkload.Generate(ApplyBenchmarks.N);
        var model = CanonicalWorkload.CompileModel();
        var identifies = w.IdentifyMessages();
        var events = w.EventMessages(ApplyBenchmarks.N);
        var shaped = ApplyBenchmarks.SampleShaped(w, events, seed: 20261202);
        var inOrder = Run(model, identifies, events);
        var other = Run(model, identifies, shaped);
        int differ = 0;
        int score = model.ScoreNames.IndexOf("total");
        for (int i = 0; i < CanonicalWorkload.LeadCount; i++)
        {
            inOrder.TryGetScore(w.UserIds[i], score, CanonicalWorkload.AsOf, out double a);
            other.TryGetScore(w.UserIds[i], score, CanonicalWorkload.AsOf, out double b);
            if (a != b && differ++ < 10)
            {
                Console.WriteLine($"{w.UserIds[i]}: in order {a}, shaped {b}");
                Console.WriteLine("  in order: " + LeadScoring.Output.LeadResultJson.ToJson(inOrder.Evaluate(w.UserIds[i], CanonicalWorkload.AsOf, explain: true)!));
                Console.WriteLine("  shaped:   " + LeadScoring.Output.LeadResultJson.ToJson(other.Evaluate(w.UserIds[i], CanonicalWorkload.AsOf, explain: true)!));
            }
        }

        Console.WriteLine($"{differ} leads differ");
        return differ == 0 ? 0 : 1;
    }

    private static LeadScoringEngine Run(CompiledModel model, LeadMessage[] identifies, LeadMessage[] events)
    {
        var engine = new LeadScoringEngine(model, new LeadScoringEngineOptions { ReorderHorizon = null });
        foreach (var m in identifies)
        {
            engine.Apply(m);
        }

        foreach (var m in events)
        {
            engine.Apply(m);
        }

        return engine;
    }
}
