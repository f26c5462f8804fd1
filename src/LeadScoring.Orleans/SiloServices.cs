using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Model;
using Microsoft.Extensions.Options;

namespace LeadScoring.Orleans;

/// <summary>What the grains of one silo share: the compiled model, the storage port, the handlers and the clock.</summary>
internal sealed class LeadScoringSiloServices
{
    public LeadScoringSiloServices(
        IOptions<LeadScoringClusterOptions> options, ILeadScoringGrainStorage storage, IEnumerable<IStageChangedHandler> handlers, TimeProvider time)
    {
        Options = options.Value;
        if (Options.Partitions < 1)
        {
            throw new OptionsValidationException(nameof(LeadScoringClusterOptions), typeof(LeadScoringClusterOptions),
                [$"LeadScoring:Partitions must be at least 1 (it is {Options.Partitions})."]);
        }

        Model = LoadModel(Options);
        Storage = storage;
        Handlers = [.. handlers];
        Time = Options.TimeProvider ?? time;
    }

    public LeadScoringClusterOptions Options { get; }

    public CompiledModel Model { get; }

    public ILeadScoringGrainStorage Storage { get; }

    public IReadOnlyList<IStageChangedHandler> Handlers { get; }

    public TimeProvider Time { get; }

    /// <summary>
    /// A partition's engine. Every message is kept in the lead's journal (no reorder horizon), so that a lead moved to
    /// another partition carries its whole history, as <c>leadscore score</c> keeps it.
    /// </summary>
    public LeadScoringEngine NewEngine() => new(Model, new LeadScoringEngineOptions { ReorderHorizon = null });

    /// <summary>The stage clock's period: the option, else the model's <c>stageCheckHours</c>; at least a minute; zero without a clock.</summary>
    public TimeSpan StageClockPeriod
    {
        get
        {
            if (Model.Model.Stages.Length < 2 || Model.Model.EffectiveStageCheckHours <= 0)
            {
                return TimeSpan.Zero;
            }

            var period = Options.StageClockPeriod ?? TimeSpan.FromHours(Model.Model.EffectiveStageCheckHours);
            return period < TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : period;
        }
    }

    private static CompiledModel LoadModel(LeadScoringClusterOptions options)
    {
        ModelLoadResult result;
        string where;
        if (options.ModelJson is { } json)
        {
            result = ScoringModelLoader.Load(json);
            where = "LeadScoring:ModelJson";
        }
        else if (options.ModelPath is { } path)
        {
            result = ScoringModelLoader.LoadFile(path);
            where = path;
        }
        else
        {
            throw new OptionsValidationException(nameof(LeadScoringClusterOptions), typeof(LeadScoringClusterOptions),
                ["LeadScoring: set ModelPath or ModelJson (the scoring model every silo scores with)."]);
        }

        return CompiledModel.Compile(result.GetModelOrThrow(where));
    }
}
