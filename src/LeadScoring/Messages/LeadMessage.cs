using System.Globalization;
using LeadScoring.Engine;

namespace LeadScoring.Messages;

/// <summary>The Segment message types the engine reads (spec 2.1).</summary>
public enum MessageType
{
    /// <summary>Who the lead is: traits.</summary>
    Identify,
    /// <summary>Something the lead did: an event with properties.</summary>
    Track,
    /// <summary>A page the lead viewed.</summary>
    Page,
    /// <summary>The lead's account, with the account's traits.</summary>
    Group,
    /// <summary>Two ids are one lead.</summary>
    Alias,
}

/// <summary>
/// One parsed input message (spec 2.1). Immutable and thread-safe; parse with <see cref="MessageParser"/>
/// or build with the factory methods. Field values are parsed once, so scoring reads them without allocating.
/// </summary>
public sealed class LeadMessage
{
    internal LeadMessage(
        MessageType type, string messageId, string? userId, string? anonymousId, long timestampTicks,
        string? eventName, string? name, string? groupId, string? previousId,
        DataValue? properties, DataValue? context, DataValue? traits)
    {
        Type = type;
        MessageId = messageId;
        UserId = userId;
        AnonymousId = anonymousId;
        TimestampTicks = timestampTicks;
        Event = eventName;
        Name = name;
        GroupId = groupId;
        PreviousId = previousId;
        Properties = properties;
        Context = context;
        Traits = traits;

        // The ids' hashes, worked out here while the strings are fresh in the cache: the engine's in-order step then
        // finds the lead and checks for a copy without reading either string again.
        IdHash = HistoryIndex.Hash(messageId);
        UserIdHash = userId is null ? 0 : IdTable.Hash(userId);
    }

    /// <summary>The seeded hash of <see cref="MessageId"/> (<see cref="HistoryIndex.Hash"/>).</summary>
    internal readonly ulong IdHash;

    /// <summary>The seeded hash of <see cref="UserId"/> (<see cref="IdTable.Hash"/>); 0 without a user id.</summary>
    internal readonly int UserIdHash;

    /// <summary>The message type.</summary>
    public MessageType Type { get; }

    /// <summary>The de-duplication id; a message without one gets <c>~</c> followed by a hash of its content.</summary>
    public string MessageId { get; }

    /// <summary>The known user's id, if any.</summary>
    public string? UserId { get; }

    /// <summary>The anonymous visitor's id, if any.</summary>
    public string? AnonymousId { get; }

    /// <summary>The lead id this message is filed under before linking: <see cref="UserId"/>, else <see cref="AnonymousId"/>.</summary>
    public string LeadId => UserId ?? AnonymousId!;

    /// <summary>When it happened, as UTC ticks.</summary>
    public long TimestampTicks { get; }

    /// <summary>When it happened.</summary>
    public DateTimeOffset Timestamp => new(TimestampTicks, TimeSpan.Zero);

    /// <summary>A track message's event name.</summary>
    public string? Event { get; }

    /// <summary>A page message's name.</summary>
    public string? Name { get; }

    /// <summary>A group message's account id.</summary>
    public string? GroupId { get; }

    /// <summary>An alias message's other id.</summary>
    public string? PreviousId { get; }

    internal DataValue? Properties { get; }

    internal DataValue? Context { get; }

    internal DataValue? Traits { get; }

    /// <summary>Orders messages as spec 2.3 does: by timestamp, then by message id (ordinal).</summary>
    public static int CompareOrder(LeadMessage a, LeadMessage b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return CompareOrder(a.TimestampTicks, a.MessageId, b.TimestampTicks, b.MessageId);
    }

    /// <summary>
    /// The one order comparison of spec 2.3 on its two keys: by timestamp, then by message id (ordinal; a null id
    /// sorts first). Every place that orders messages, or tells whether one comes after a point, uses this.
    /// </summary>
    internal static int CompareOrder(long ticksA, string? idA, long ticksB, string? idB)
    {
        int c = ticksA.CompareTo(ticksB);
        return c != 0 ? c : string.CompareOrdinal(idA, idB);
    }

    /// <summary>
    /// A total order: spec 2.3's order, then, for two different messages with the same timestamp and id (from two
    /// leads, or two conflicting copies), their content. Arrival order then never decides anything.
    /// </summary>
    internal static int CompareTotal(LeadMessage a, LeadMessage b)
    {
        int c = CompareOrder(a, b);
        return c != 0 || ReferenceEquals(a, b) ? c : string.CompareOrdinal(a.Fingerprint, b.Fingerprint);
    }

    private string? _fingerprint;

    /// <summary>The message's content as canonical text; computed only when two messages tie on (timestamp, id).</summary>
    internal string Fingerprint => _fingerprint ??= DataValue.Canonical(this);

    /// <summary>Creates a track message.</summary>
    public static LeadMessage Track(string messageId, string userId, string eventName, DateTimeOffset timestamp, IReadOnlyDictionary<string, object?>? properties = null, string? anonymousId = null) =>
        new(MessageType.Track, messageId, userId, anonymousId, timestamp.UtcTicks, eventName, null, null, null, DataValue.FromObject(properties), null, null);

    /// <summary>Creates a page message.</summary>
    public static LeadMessage Page(string messageId, string userId, DateTimeOffset timestamp, IReadOnlyDictionary<string, object?>? properties = null, string? anonymousId = null) =>
        new(MessageType.Page, messageId, userId, anonymousId, timestamp.UtcTicks, null, null, null, null, DataValue.FromObject(properties), null, null);

    /// <summary>Creates an identify message.</summary>
    public static LeadMessage Identify(string messageId, string userId, DateTimeOffset timestamp, IReadOnlyDictionary<string, object?>? traits = null, string? anonymousId = null) =>
        new(MessageType.Identify, messageId, userId, anonymousId, timestamp.UtcTicks, null, null, null, null, null, null, DataValue.FromObject(traits));

    /// <summary>Creates a group message.</summary>
    public static LeadMessage Group(string messageId, string userId, string groupId, DateTimeOffset timestamp, IReadOnlyDictionary<string, object?>? traits = null) =>
        new(MessageType.Group, messageId, userId, null, timestamp.UtcTicks, null, null, groupId, null, null, null, DataValue.FromObject(traits));

    /// <summary>Creates an alias message: <paramref name="previousId"/> and <paramref name="userId"/> are one lead.</summary>
    public static LeadMessage Alias(string messageId, string userId, string previousId, DateTimeOffset timestamp) =>
        new(MessageType.Alias, messageId, userId, null, timestamp.UtcTicks, null, null, null, previousId, null, null, null);

    /// <summary>The message as Segment JSON; <see cref="MessageParser"/> reads it back to an equal message.</summary>
    public string ToJson() => MessageJsonWriter.Write(this);

    /// <summary>
    /// Writes the message as one Segment JSON object, what <see cref="ToJson"/> returns, to <paramref name="writer"/>:
    /// for a store that writes many messages into one buffer without a string per message. Give the writer
    /// <see cref="System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping"/> for the same bytes as
    /// <see cref="ToJson"/>.
    /// </summary>
    public void WriteJson(System.Text.Json.Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        MessageJsonWriter.Write(writer, this);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Type} {MessageId} {LeadId} {Timestamp.ToString("O", CultureInfo.InvariantCulture)}{(Event is null ? "" : " " + Event)}";
}
