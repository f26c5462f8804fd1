using LeadScoring.Fuzz;

namespace LeadScoring.Tests.Fuzz;

/// <summary>
/// Replays every committed fuzz input (the seed corpus and every crash afl++ found, see scripts/fuzz.sh) through its
/// SharpFuzz target: each must now return normally, so a fixed crash stays fixed.
/// </summary>
public class FuzzCorpusReplayTests
{
    public static TheoryData<string, string> Inputs()
    {
        var data = new TheoryData<string, string>();
        foreach (var kind in new[] { "corpus", "crashes" })
        {
            foreach (var target in FuzzTargets.All.Keys)
            {
                string dir = Path.Combine(AppContext.BaseDirectory, "fuzz", kind, target);
                foreach (var file in Directory.Exists(dir) ? Directory.GetFiles(dir).Where(f => !f.EndsWith(".gitkeep", StringComparison.Ordinal)).Order(StringComparer.Ordinal) : Enumerable.Empty<string>())
                {
                    data.Add(target, Path.GetRelativePath(AppContext.BaseDirectory, file));
                }
            }
        }

        return data;
    }

    [Fact]
    public void Every_target_has_a_committed_seed_corpus()
    {
        foreach (var target in FuzzTargets.All.Keys)
        {
            Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "fuzz", "corpus", target)).Should().NotBeEmpty(target);
        }
    }

    [Theory]
    [MemberData(nameof(Inputs))]
    public void A_committed_fuzz_input_runs_through_its_target_without_an_exception(string target, string file)
    {
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, file));

        var run = () => FuzzTargets.All[target](bytes);

        run.Should().NotThrow();
    }
}
