using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using LeadScoring.Engine;
using LeadScoring.Model;

namespace LeadScoring.Benchmarks.Canonical;

/// <summary>
/// Model compile of the §6 29-rule model (issue target: under 5 ms). Figures are per model. Job:
/// <see cref="MicrosecondConfig"/> (many invocations per iteration), since one compile takes microseconds.
/// <list type="bullet">
/// <item><b>ParseJsonDocument</b> (baseline): <c>JsonDocument.Parse</c> of model.json's UTF-8 bytes, the floor any loader
/// of the document pays (no hand-written compile would read less).</item>
/// <item><b>LoadAndCompileFromText</b>: <c>CompiledModel.Compile(ScoringModelLoader.Load(json).GetModelOrThrow())</c>, what
/// <see cref="CanonicalWorkload.CompileModel"/> and a host do: read with locations, validate (§4, every error),
/// build the <see cref="ScoringModel"/>, compile.</item>
/// <item><b>LoadAndCompileFromUtf8</b>: the same from the file's bytes (<c>ScoringModelLoader.Load(ReadOnlySpan&lt;byte&gt;)</c>).</item>
/// <item><b>LoadOnly</b>: read and validate into a <see cref="ScoringModel"/>, no compile.</item>
/// <item><b>CompileOnly</b>: <c>CompiledModel.Compile</c> of an already loaded <see cref="ScoringModel"/>.</item>
/// </list>
/// Each method keeps its last result; after the runs it is checked: the document has the 29 rules, and the model it
/// gives scores the first 20,000 events to the §7 checksum.
/// </summary>
[Config(typeof(MicrosecondConfig))]
[MemoryDiagnoser]
public class CompileBenchmarks
{
    private readonly byte[] _utf8 = Encoding.UTF8.GetBytes(CanonicalWorkload.ModelJson);
    private ScoringModel _loaded = null!;
    private JsonDocument? _document;
    private CompiledModel? _compiled;
    private ScoringModel? _model;

    [GlobalSetup]
    public void GlobalSetup() => _loaded = ScoringModelLoader.Load(CanonicalWorkload.ModelJson).GetModelOrThrow();

    [Benchmark(Baseline = true)]
    public JsonDocument ParseJsonDocument()
    {
        _document?.Dispose();
        return _document = JsonDocument.Parse(_utf8);
    }

    [Benchmark]
    public CompiledModel LoadAndCompileFromText() =>
        _compiled = CompiledModel.Compile(ScoringModelLoader.Load(CanonicalWorkload.ModelJson).GetModelOrThrow());

    [Benchmark]
    public CompiledModel LoadAndCompileFromUtf8() =>
        _compiled = CompiledModel.Compile(ScoringModelLoader.Load(_utf8).GetModelOrThrow());

    [Benchmark]
    public ScoringModel LoadOnly() => _model = ScoringModelLoader.Load(_utf8).GetModelOrThrow();

    [Benchmark]
    public CompiledModel CompileOnly() => _compiled = CompiledModel.Compile(_loaded);

    [GlobalCleanup(Target = nameof(ParseJsonDocument))]
    public void CheckDocument()
    {
        int rules = _document!.RootElement.GetProperty("rules").GetArrayLength();
        _document.Dispose();
        if (rules != 29)
        {
            throw new InvalidOperationException($"the parsed document has {rules} rules; §6 has 29");
        }

        Console.WriteLine("// the parsed model.json has the 29 rules of §6 OK");
    }

    [GlobalCleanup(Targets = [nameof(LoadAndCompileFromText), nameof(LoadAndCompileFromUtf8), nameof(CompileOnly)])]
    public void CheckCompiled() => CheckScores("the last compiled model", _compiled!);

    [GlobalCleanup(Target = nameof(LoadOnly))]
    public void CheckLoaded() => CheckScores("the last loaded model, compiled", CompiledModel.Compile(_model!));

    private static void CheckScores(string what, CompiledModel model)
    {
        const int events = 20_000;
        var w = CanonicalWorkload.Generate(events);
        var scorer = CanonicalJson.Scored(w, model, events);
        CanonicalWorkload.Check($"{what} through LeadScorer", events, CanonicalWorkload.Describe(CanonicalJson.Totals(w, scorer)));
    }
}
