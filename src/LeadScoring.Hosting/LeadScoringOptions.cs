using LeadScoring.Model;
using Microsoft.Extensions.Options;

namespace LeadScoring.Hosting;

/// <summary>
/// Options of <c>services.AddLeadScoring(...)</c>. Exactly one model source: <see cref="ModelPath"/> (watched and
/// reloaded when it changes), <see cref="ModelJson"/> (e.g. from configuration) or <see cref="Model"/> (code).
/// Validated on start with every error reported at once.
/// </summary>
public sealed class LeadScoringOptions
{
    /// <summary>Path of the scoring-model JSON file. A change is validated and swapped in; an invalid file is refused and logged.</summary>
    public string? ModelPath { get; set; }

    /// <summary>The scoring-model document itself (e.g. bound from configuration).</summary>
    public string? ModelJson { get; set; }

    /// <summary>A model built in code (<see cref="ScoringModelBuilder"/>).</summary>
    public ScoringModel? Model { get; set; }

    /// <summary>Scoring workers; leads are partitioned across them. Default: the processor count.</summary>
    public int Workers { get; set; } = Environment.ProcessorCount;

    /// <summary>Most messages in one committed batch. Default 2,000.</summary>
    public int BatchSize { get; set; } = 2_000;

    /// <summary>Longest wait to fill a batch before committing what is there. Default 100 ms.</summary>
    public TimeSpan BatchDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Capacity of the bounded queue between sources/writers and the pipeline (back-pressure beyond it). Default 20,000.</summary>
    public int QueueCapacity { get; set; } = 20_000;

    /// <summary>
    /// How far back, from a lead's newest message, the pipeline's engines keep the lead's messages to replay them exactly
    /// (see <see cref="LeadScoring.Engine.LeadScoringEngineOptions.ReorderHorizon"/>). Default 30 days; null: unbounded.
    /// </summary>
    public TimeSpan? ReorderHorizon { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Re-score every stored lead when the model version changes. Default true.</summary>
    public bool RescoreOnModelChange { get; set; } = true;

    /// <summary>Longest time shutdown waits for queued messages to be committed. Default 30 s.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Lead states are saved at a state checkpoint, not with every batch: once this many messages were committed since the
    /// last one (or <see cref="StateCheckpointInterval"/> passed), on drain and with a re-scoring. A restart replays at most
    /// about this many messages from the message log. 1 saves the states with every batch. Default 1,000,000 (a replay of a few seconds).
    /// </summary>
    public int StateCheckpointMessages { get; set; } = 1_000_000;

    /// <summary>
    /// Where the engines keep the messages they counted, to replay a lead exactly when its past changes (a late message,
    /// an earlier copy, a merge, an account change). False: in the store's message log, which holds them anyway; the
    /// engines keep only where each message is (0 bytes a message), and read a message back (from the batches not yet
    /// committed, from a cache of recent batches, <see cref="MessageLogCacheMessages"/>, else from the store) only when
    /// they need it. True: the parsed messages themselves, in memory (<see cref="LeadScoring.Engine.InMemoryMessageHistory"/>):
    /// no store read ever, a few hundred bytes per kept message. Null (default): the message log when
    /// <see cref="ReorderHorizon"/> is null (nothing is folded: in memory every message would stay for ever), in memory
    /// when a horizon is set (folding a lead's messages older than the horizon into its base state reads each of them
    /// once more, which from the log is a store read of its batch: <c>docs/hosting.md</c>). The results are the same.
    /// </summary>
    public bool? KeepMessagesInMemory { get; set; }

    /// <summary>
    /// With the message log as the replay history (see <see cref="KeepMessagesInMemory"/>): about how many messages of
    /// recently committed (or read) batches stay in memory, so that a replay after a slightly late message reads nothing
    /// from the store. Whole batches are kept, the newest always. Default 65,536.
    /// </summary>
    public int MessageLogCacheMessages { get; set; } = 65_536;

    /// <summary>Longest time between the first change after a state checkpoint and the next one (see <see cref="StateCheckpointMessages"/>). Default 60 s.</summary>
    public TimeSpan StateCheckpointInterval { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>Set once the pipeline has started: from then on a bad model file is refused by the reload, not by validation.</summary>
internal sealed class LeadScoringStartState
{
    public volatile bool Started;
}

/// <summary>
/// Validates <see cref="LeadScoringOptions"/> on start, listing every problem at once, the model's errors included.
/// After start, a changed model file is validated by <see cref="ModelProvider"/>, which refuses it and logs why
/// (failing validation inside a reload would only lose the errors).
/// </summary>
internal sealed class LeadScoringOptionsValidator(LeadScoringStartState state) : IValidateOptions<LeadScoringOptions>
{
    public ValidateOptionsResult Validate(string? name, LeadScoringOptions options)
    {
        var errors = new List<string>();
        int sources = (options.ModelPath is null ? 0 : 1) + (options.ModelJson is null ? 0 : 1) + (options.Model is null ? 0 : 1);
        if (sources == 0)
        {
            errors.Add("LeadScoring: no model: set ModelPath, ModelJson or Model.");
        }
        else if (sources > 1)
        {
            errors.Add("LeadScoring: set only one of ModelPath, ModelJson and Model.");
        }

        if (options.ModelPath is not null && !File.Exists(options.ModelPath))
        {
            errors.Add($"LeadScoring: ModelPath '{options.ModelPath}' does not exist.");
        }
        else if (!state.Started && (options.ModelPath is not null || options.ModelJson is not null))
        {
            var result = options.ModelPath is not null ? ScoringModelLoader.LoadFile(options.ModelPath) : ScoringModelLoader.Load(options.ModelJson!);
            errors.AddRange(result.Errors.Select(e => "LeadScoring: model: " + e.ToString(options.ModelPath is null ? "ModelJson" : Path.GetFileName(options.ModelPath))));
        }

        if (options.Workers < 1 || options.Workers > 256)
        {
            errors.Add($"LeadScoring: Workers must be between 1 and 256, not {options.Workers}.");
        }

        if (options.BatchSize < 1)
        {
            errors.Add($"LeadScoring: BatchSize must be at least 1, not {options.BatchSize}.");
        }

        if (options.QueueCapacity < 1)
        {
            errors.Add($"LeadScoring: QueueCapacity must be at least 1, not {options.QueueCapacity}.");
        }

        if (options.BatchDelay < TimeSpan.Zero)
        {
            errors.Add("LeadScoring: BatchDelay must not be negative.");
        }

        if (options.StateCheckpointMessages < 1)
        {
            errors.Add($"LeadScoring: StateCheckpointMessages must be at least 1, not {options.StateCheckpointMessages}.");
        }

        if (options.StateCheckpointInterval < TimeSpan.Zero)
        {
            errors.Add("LeadScoring: StateCheckpointInterval must not be negative.");
        }

        if (options.MessageLogCacheMessages < 0)
        {
            errors.Add($"LeadScoring: MessageLogCacheMessages must not be negative, not {options.MessageLogCacheMessages}.");
        }

        if (options.ReorderHorizon is { } h && h < TimeSpan.Zero)
        {
            errors.Add("LeadScoring: ReorderHorizon must not be negative.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
