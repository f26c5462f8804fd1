using LeadScoring.Engine;
using LeadScoring.Messages;
using Orleans;

namespace LeadScoring.Orleans;

/// <summary>
/// A <see cref="LeadMessage"/> between silos: its Segment JSON (<see cref="LeadMessage.ToJson"/>), parsed back on
/// arrival. Used only when a call leaves the silo; calls inside one silo pass the (immutable) messages themselves.
/// </summary>
[GenerateSerializer]
internal struct LeadMessageSurrogate
{
    [Id(0)]
    public string Json;
}

[RegisterConverter]
internal sealed class LeadMessageSurrogateConverter : IConverter<LeadMessage, LeadMessageSurrogate>
{
    public LeadMessage ConvertFromSurrogate(in LeadMessageSurrogate surrogate)
    {
        var parsed = MessageParser.Parse(surrogate.Json);
        return parsed.Message ?? throw new InvalidDataException($"a message sent between silos does not parse back: {parsed.Error ?? parsed.IgnoredType}");
    }

    public LeadMessageSurrogate ConvertToSurrogate(in LeadMessage value) => new() { Json = value.ToJson() };
}

/// <summary>A lead moving between partitions: the engine's export, and the stage moves already told for it.</summary>
[GenerateSerializer, Immutable]
internal sealed class LeadTransfer
{
    [Id(0)] public required string LeadId { get; init; }
    [Id(1)] public required string[] Ids { get; init; }
    [Id(2)] public required byte[] State { get; init; }
    [Id(3)] public byte[]? BaseState { get; init; }
    [Id(4)] public required LeadMessage[] Journal { get; init; }
    [Id(5)] public required ToldMove[] Told { get; init; }

    public static LeadTransfer From(LeadSnapshot s, IEnumerable<StageMove> told) => new()
    {
        LeadId = s.LeadId,
        Ids = [.. s.Ids],
        State = s.State.ToArray(),
        BaseState = s.BaseState?.ToArray(),
        Journal = [.. s.Journal],
        Told = [.. told.Select(m => new ToldMove(m.From, m.To, m.At.UtcTicks))],
    };

    public LeadSnapshot ToSnapshot() => LeadSnapshot.Create(LeadId, Ids, State, BaseState, Journal);
}

/// <summary>A stage move already told to the handlers.</summary>
[GenerateSerializer, Immutable]
internal readonly record struct ToldMove([property: Id(0)] string From, [property: Id(1)] string To, [property: Id(2)] long AtTicks)
{
    public StageMove ToMove() => new(From, To, new DateTimeOffset(AtTicks, TimeSpan.Zero));
}

/// <summary>What a partition did with a batch: the group messages it counted (to share), and its incarnation.</summary>
[GenerateSerializer, Immutable]
internal sealed class PartitionReply
{
    [Id(0)] public required Guid Incarnation { get; init; }
    [Id(1)] public LeadMessage[] Groups { get; init; } = [];
    [Id(2)] public LeadTransfer[] Leads { get; init; } = [];
}

/// <summary>One partition's results, as the contract's JSON lines, by lead id.</summary>
[GenerateSerializer, Immutable]
internal sealed class PartitionResults
{
    [Id(0)] public required string[] LeadIds { get; init; }
    [Id(1)] public required string[] Lines { get; init; }
}
