using System.Collections.Immutable;
using LeadScoring.Messages;

namespace LeadScoring.Lab;

/// <summary>The messages of one input, read once and kept in memory for the lab's several scoring passes.</summary>
public sealed class LabMessages
{
    private LabMessages(ImmutableArray<LeadMessage> messages, ImmutableArray<string> rejections)
    {
        Messages = messages;
        Rejections = rejections;
    }

    /// <summary>The accepted messages, in input order.</summary>
    public ImmutableArray<LeadMessage> Messages { get; }

    /// <summary>One line per rejected message: where and why.</summary>
    public ImmutableArray<string> Rejections { get; }

    /// <summary>Reads every message of <paramref name="stream"/> with the library's reader; rejected ones are listed, ignored types dropped.</summary>
    public static LabMessages Read(Stream stream)
    {
        var accepted = ImmutableArray.CreateBuilder<LeadMessage>();
        var rejected = ImmutableArray.CreateBuilder<string>();
        foreach (var record in MessageReader.Read(stream))
        {
            if (record.Result.IsRejected)
            {
                rejected.Add($"{record.Location}: rejected: {record.Result.Error}");
            }
            else if (record.Result.Message is { } m)
            {
                accepted.Add(m);
            }
        }

        return new LabMessages(accepted.ToImmutable(), rejected.ToImmutable());
    }

    /// <summary>Reads a message file.</summary>
    public static LabMessages ReadFile(string path)
    {
        using var stream = File.OpenRead(path);
        return Read(stream);
    }

    /// <summary>Wraps messages already in memory.</summary>
    public static LabMessages From(IEnumerable<LeadMessage> messages) => new([.. messages], []);
}

/// <summary>What the lab predicts: a conversion is a track event named <see cref="Event"/> within <see cref="WithinDays"/> days after the as-of time.</summary>
/// <param name="Event">The track event name (case-insensitive).</param>
/// <param name="WithinDays">The window in days; a lead scored at <c>T</c> is positive when the event happens in <c>(T, T + WithinDays]</c>.</param>
public sealed record OutcomeSpec(string Event, double WithinDays = 90);

/// <summary>
/// The outcome of every person in a message file: which ids are one person (their <c>userId</c>/<c>anonymousId</c> pairs
/// and aliases, over the whole file), and when each converted.
/// </summary>
internal sealed class OutcomeIndex
{
    private readonly Dictionary<string, string> _parent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<long>> _conversions = new(StringComparer.Ordinal);

    public OutcomeIndex(IEnumerable<LeadMessage> messages, OutcomeSpec outcome)
    {
        var events = new List<(string Id, long Ticks)>();
        foreach (var m in messages)
        {
            if (m.UserId is not null && m.AnonymousId is not null)
            {
                Union(m.UserId, m.AnonymousId);
            }

            if (m.Type == MessageType.Alias && m.PreviousId is not null)
            {
                Union(m.LeadId, m.PreviousId);
            }

            if (m.Type == MessageType.Track && string.Equals(m.Event, outcome.Event, StringComparison.OrdinalIgnoreCase))
            {
                events.Add((m.LeadId, m.TimestampTicks));
            }
        }

        EventCount = events.Count;
        foreach (var (id, ticks) in events)
        {
            string root = Find(id);
            if (!_conversions.TryGetValue(root, out var list))
            {
                _conversions[root] = list = [];
            }

            list.Add(ticks);
        }
    }

    /// <summary>How many outcome events the file holds, at any time.</summary>
    public int EventCount { get; }

    /// <summary>Whether the lead converted at or before <paramref name="asOf"/>, and whether it converts in <c>(asOf, asOf + window]</c>.</summary>
    public (bool Before, bool Within) Label(string leadId, DateTimeOffset asOf, double withinDays)
    {
        if (!_conversions.TryGetValue(Find(leadId), out var list))
        {
            return (false, false);
        }

        long t = asOf.UtcTicks;
        long end = t + (long)Math.Round(withinDays * TimeSpan.TicksPerDay);
        bool before = false, within = false;
        foreach (long c in list)
        {
            before |= c <= t;
            within |= c > t && c <= end;
        }

        return (before, within);
    }

    private string Find(string id)
    {
        string root = id;
        while (_parent.TryGetValue(root, out var p))
        {
            root = p;
        }

        // Path compression.
        while (_parent.TryGetValue(id, out var p) && p != root)
        {
            _parent[id] = root;
            id = p;
        }

        return root;
    }

    private void Union(string a, string b)
    {
        string ra = Find(a), rb = Find(b);
        if (ra == rb)
        {
            return;
        }

        // Deterministic: the ordinal-smaller root wins.
        if (string.CompareOrdinal(ra, rb) < 0)
        {
            _parent[rb] = ra;
        }
        else
        {
            _parent[ra] = rb;
        }
    }
}
