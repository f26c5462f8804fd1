using LeadScoring.Engine;
using LeadScoring.Model;

namespace LeadScoring.Tests;

/// <summary>Paths and models shared by tests.</summary>
internal static class TestData
{
    public static string SamplePath(string file) => Path.Combine(AppContext.BaseDirectory, "data", file);

    private static readonly Lazy<ScoringModel> Sample = new(() => ScoringModelLoader.LoadFile(SamplePath("model.json")).GetModelOrThrow());

    public static ScoringModel SampleModel => Sample.Value;

    public static CompiledModel SampleCompiled { get; } = CompiledModel.Compile(SampleModel);

    /// <summary>A short distinct key for <paramref name="i"/> (0-9a-z): many keys in a message that stays under 1 MiB.</summary>
    public static string Base36(int i)
    {
        const string digits = "0123456789abcdefghijklmnopqrstuvwxyz";
        var s = "";
        do
        {
            s = digits[i % 36] + s;
            i /= 36;
        }
        while (i > 0);
        return s;
    }
}
