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
}
