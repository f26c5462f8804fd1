using LeadScoring.Messages;

namespace LeadScoring.Engine;

/// <summary>
/// Where a <see cref="LeadScoringEngine"/> keeps the messages it counted, so that it can replay a lead exactly when
/// its history changes in the past: a late message, an earlier copy of a message it already counted, a link that
/// merges two leads, or an account change before the lead's latest message. The engine keeps, per message, only its
/// order key, a hash of its id and the <see cref="long"/> handle returned by <see cref="Add"/>; the message itself is
/// read back with <see cref="Get"/> only when a lead is replayed, a duplicate is confirmed or the past is scored.
/// </summary>
/// <remarks>
/// Implementations: <see cref="InMemoryMessageHistory"/> (the default: the messages themselves, bounded by the
/// reorder horizon, <see cref="LeadScoringEngineOptions.ReorderHorizon"/>), the command-line tool's file history
/// (offsets into the file being scored), and the hosting package's message log (<c>MessageLogHistory</c>: where each
/// message is in the store's log, a batch and an index; 0 bytes per message, the message read back from a cache of
/// recent batches or from the store only when the engine needs it; <c>docs/hosting.md</c>). A history belongs to one
/// engine; it need not be thread-safe. <see cref="Get"/> is synchronous: a history backed by a store reads synchronously.
/// </remarks>
public abstract class MessageHistory
{
    /// <summary>Keeps <paramref name="message"/>, which the engine just counted, and returns the handle to read it back.</summary>
    public abstract long Add(LeadMessage message);

    /// <summary>Reads back the message kept under <paramref name="handle"/>.</summary>
    public abstract LeadMessage Get(long handle);

    /// <summary>
    /// Whether <see cref="Get"/> is costly enough that the engine should not call it for bookkeeping (a read from a
    /// store). When true, the engine keeps the id of each lead's latest message itself (about 100 bytes a lead on flat
    /// rows) instead of reading it back from the history whenever a lead's full state is loaded (an evaluation, an
    /// export): the history is then read only to replay a lead, confirm a copy or score the past. Default false (the
    /// in-memory history, and the command-line tool's, whose reads are cheap or rare enough).
    /// </summary>
    public virtual bool ReadsAreCostly => false;

    /// <summary>
    /// Tells the history that the engine no longer needs the message under <paramref name="handle"/> (a copy replaced
    /// by an earlier one, or a message folded into a lead's base state). The default does nothing.
    /// </summary>
    public virtual void Release(long handle)
    {
    }
}

/// <summary>The default <see cref="MessageHistory"/>: keeps the messages themselves, in memory.</summary>
public sealed class InMemoryMessageHistory : MessageHistory
{
    private const int ChunkBits = 12;
    private const int ChunkSize = 1 << ChunkBits;
    private LeadMessage?[][] _chunks = [];
    private long _count;
    private long _released;

    /// <summary>Creates an empty history.</summary>
    public InMemoryMessageHistory()
    {
    }

    /// <summary>Creates an empty history with room for <paramref name="capacity"/> messages, so that keeping them allocates nothing.</summary>
    /// <param name="capacity">How many messages to make room for; past that the history grows in chunks of 4,096.</param>
    public InMemoryMessageHistory(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _chunks = new LeadMessage?[Math.Max(4, (capacity + ChunkSize - 1) >> ChunkBits)][];
        for (int i = 0; i < (capacity + ChunkSize - 1) >> ChunkBits; i++)
        {
            _chunks[i] = new LeadMessage?[ChunkSize];
        }
    }

    /// <summary>How many messages are kept (tests).</summary>
    internal long Count => _count - _released;

    /// <inheritdoc />
    public override long Add(LeadMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        long handle = _count;
        int chunk = (int)(handle >> ChunkBits);
        if (chunk == _chunks.Length)
        {
            Array.Resize(ref _chunks, Math.Max(4, _chunks.Length * 2));
        }

        var items = _chunks[chunk] ??= new LeadMessage?[ChunkSize];
        items[handle & (ChunkSize - 1)] = message;
        _count++;
        return handle;
    }

    /// <summary>
    /// <see cref="Add"/> for the engine's in-order step, which holds the history by its type (no virtual call) and never
    /// passes null.
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal long AddKnown(LeadMessage message)
    {
        long handle = _count;
        var chunks = _chunks;
        int chunk = (int)(handle >> ChunkBits);
        if ((uint)chunk < (uint)chunks.Length && chunks[chunk] is { } items)
        {
            items[handle & (ChunkSize - 1)] = message;
            _count = handle + 1;
            return handle;
        }

        return Add(message);
    }

    /// <inheritdoc />
    public override LeadMessage Get(long handle) =>
        (ulong)handle < (ulong)_count && _chunks[handle >> ChunkBits][handle & (ChunkSize - 1)] is { } m
            ? m
            : throw new ArgumentOutOfRangeException(nameof(handle), handle, "No message is kept under this handle.");

    /// <inheritdoc />
    public override void Release(long handle)
    {
        if ((ulong)handle < (ulong)_count && _chunks[handle >> ChunkBits][handle & (ChunkSize - 1)] is not null)
        {
            _chunks[handle >> ChunkBits][handle & (ChunkSize - 1)] = null;
            _released++;
        }
    }
}
