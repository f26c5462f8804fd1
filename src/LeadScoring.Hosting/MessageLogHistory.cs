using LeadScoring.Engine;
using LeadScoring.Messages;

namespace LeadScoring.Hosting;

/// <summary>
/// Hosting's <see cref="MessageHistory"/>: the store's message log. Instead of the parsed messages it keeps, per counted
/// message, nothing but its handle, which says where the message is in the log: the batch (a log position, or the
/// pipeline's number for a batch not yet committed) and its index in it. A message is read back only when the engine
/// replays a lead, confirms a duplicate or scores the past: from the batch being applied (the partition's own list),
/// from the batches applied but not yet committed, from a small cache of recent batches (<see cref="MessageLogCache"/>),
/// or, for older ones, from the store (<see cref="IMessageLog.ReadLogBatch"/>). In-order traffic never reads.
/// </summary>
/// <remarks>
/// <para>
/// The pipeline says where each message of a batch comes from before the engine applies it (<see cref="Begin"/> for a
/// new batch, whose place in the log is known only once the batch is counted and committed; <see cref="Expect"/> for a
/// message read from the log: on start and when re-scoring). The engine adds the messages it counts in the same order;
/// each is matched to its place by reference. A message added from anywhere else (a lead moved between partitions by a
/// link) is kept parsed, as <see cref="InMemoryMessageHistory"/> would.
/// </para>
/// <para>
/// Handles: bits 0–23 the index in the batch; bits 24–60 the batch (its log position, or the pipeline's batch number);
/// bit 61 set: a message kept parsed (the rest a counter); bit 62 set: a batch not yet committed when the message was
/// added. Per message the history itself keeps 0 bytes (the engine's index entry already holds the handle); per batch
/// and partition a small record while any of its messages is live.
/// </para>
/// <para>Not thread-safe, as the port: one per engine, used under the partition's lock. <see cref="MessageLogCache"/> is shared and locked.</para>
/// </remarks>
internal sealed class MessageLogHistory(MessageLogCache log) : MessageHistory
{
    /// <summary>Bits of a handle that hold the index in the batch.</summary>
    internal const int IndexBits = 24;

    /// <summary>The most messages a batch may have for its messages to be found by handle (16,777,215).</summary>
    internal const int MaxIndex = (1 << IndexBits) - 1;

    private const long ParsedKind = 1L << 61;
    private const long PendingKind = 1L << 62;
    private const long BatchMask = (1L << 61) - 1 - MaxIndex;

    private readonly List<(LeadMessage Message, long Handle)> _expected = [];
    private readonly Dictionary<long, PendingPart> _pending = [];
    private readonly Dictionary<long, LeadMessage> _parsed = [];
    private int _next;
    private long _parsedCount;
    private PendingPart? _open;

    /// <summary>Messages kept parsed (added from outside a batch: a lead moved between partitions), for tests.</summary>
    internal int ParsedCount => _parsed.Count;

    /// <summary>
    /// Starts a batch: the engine is about to apply <paramref name="messages"/> (this partition's part of the pipeline's
    /// batch <paramref name="batch"/>), in this order. Until <see cref="Complete"/> its messages are read from that list.
    /// </summary>
    public void Begin(LogBatch batch, List<LeadMessage> messages)
    {
        ClearExpected();
        if (messages.Count > MaxIndex)
        {
            return;   // beyond what a handle can index: the batch's messages are kept parsed
        }

        _open = new PendingPart(batch);
        long handle = PendingKind | (batch.Number << IndexBits);
        for (int i = 0; i < messages.Count; i++)
        {
            _expected.Add((messages[i], handle | (uint)i));
        }
    }

    /// <summary>
    /// The batch started by <see cref="Begin"/> is applied and counted: its messages are, in the logged batch, from
    /// <paramref name="offset"/> on, but for those at the indexes <paramref name="skipped"/> (ascending) of the list given
    /// to <see cref="Begin"/>, which were not counted (copies).
    /// </summary>
    public void Complete(int offset, int[] skipped)
    {
        if (_open is { } part)
        {
            part.Offset = offset;
            part.Skipped = skipped;
            part.Completed = true;
            if (part.Live == 0)
            {
                _pending.Remove(part.Batch.Number);
            }

            _open = null;
        }

        ClearExpected();
    }

    /// <summary>The next message the engine may add is <paramref name="message"/>, at <paramref name="index"/> of the logged batch at <paramref name="position"/>.</summary>
    public void Expect(LeadMessage message, long position, int index)
    {
        if (index <= MaxIndex && position > 0 && position <= BatchMask >> IndexBits)
        {
            _expected.Add((message, (position << IndexBits) | (uint)index));
        }
    }

    /// <summary>Forgets the expected messages (those the engine did not add were not counted).</summary>
    public void ClearExpected()
    {
        _expected.Clear();
        _next = 0;
    }

    /// <summary>True: a read may go to the store, so the engine keeps each lead's latest message id itself.</summary>
    public override bool ReadsAreCostly => true;

    /// <inheritdoc />
    public override long Add(LeadMessage message)
    {
        for (int i = _next; i < _expected.Count; i++)
        {
            if (ReferenceEquals(_expected[i].Message, message))
            {
                _next = i + 1;
                long handle = _expected[i].Handle;
                if ((handle & PendingKind) != 0)
                {
                    var part = _open!;
                    if (part.Live++ == 0)
                    {
                        _pending[part.Batch.Number] = part;
                    }
                }

                return handle;
            }
        }

        long parsed = ParsedKind | _parsedCount++;
        _parsed[parsed] = message;
        return parsed;
    }

    /// <inheritdoc />
    public override LeadMessage Get(long handle)
    {
        if ((handle & ParsedKind) != 0)
        {
            return _parsed.TryGetValue(handle, out var kept) ? kept : throw Unknown(handle);
        }

        long batch = (handle & BatchMask) >> IndexBits;
        int index = (int)(handle & MaxIndex);
        if ((handle & PendingKind) == 0)
        {
            return log.Read(batch, index);
        }

        if (!_pending.TryGetValue(batch, out var part))
        {
            throw Unknown(handle);
        }

        if (!part.Completed)
        {
            // The batch being applied: the partition's own list.
            return _expected[index].Message;
        }

        return log.Read(part.Batch, part.Offset + index - SkippedBefore(part.Skipped, index));
    }

    /// <inheritdoc />
    public override void Release(long handle)
    {
        if ((handle & ParsedKind) != 0)
        {
            _parsed.Remove(handle);
        }
        else if ((handle & PendingKind) != 0 && _pending.TryGetValue((handle & BatchMask) >> IndexBits, out var part) && --part.Live == 0 && part.Completed)
        {
            _pending.Remove(part.Batch.Number);
        }
    }

    /// <summary>How many of <paramref name="skipped"/> (ascending) are below <paramref name="index"/>.</summary>
    private static int SkippedBefore(int[] skipped, int index)
    {
        int at = Array.BinarySearch(skipped, index);
        return at >= 0 ? at : ~at;
    }

    private static ArgumentOutOfRangeException Unknown(long handle) =>
        new(nameof(handle), handle, "No message is kept under this handle.");

    /// <summary>This partition's part of a batch applied since start: where its messages are in the logged batch, and how many are live.</summary>
    private sealed class PendingPart(LogBatch batch)
    {
        public LogBatch Batch { get; } = batch;

        /// <summary>The index, in the logged batch, of the part's first counted message.</summary>
        public int Offset;

        /// <summary>Indexes in the part (ascending) of messages not counted: they have no place in the logged batch.</summary>
        public int[] Skipped = [];

        /// <summary>Whether the batch is counted (<see cref="Offset"/> and <see cref="Skipped"/> are known).</summary>
        public bool Completed;

        /// <summary>The part's messages the engine still keeps.</summary>
        public int Live;
    }
}

/// <summary>
/// A batch the pipeline applied since start: its number (the pipeline's, known when it is applied), then its counted
/// messages (kept in memory until the store commits them), then its log position (once committed).
/// </summary>
internal sealed class LogBatch(long number)
{
    /// <summary>The pipeline's number of the batch, 1, 2, ... since start.</summary>
    public long Number { get; } = number;

    /// <summary>The counted messages while the batch is not committed (or when the store did not tell its position).</summary>
    public IReadOnlyList<LeadMessage>? Messages;

    /// <summary>The batch's log position once committed; 0 before.</summary>
    public long Position;
}

/// <summary>
/// The pipeline's view of its message log as the engines' replay history (<see cref="MessageLogHistory"/>): the batches
/// applied but not yet committed, and a bounded cache of recently committed or read batches (by log position, the oldest
/// put in leaves first); anything else is read from the store, one batch at a time, synchronously
/// (<see cref="IMessageLog.ReadLogBatch"/>). Shared by the partitions; thread-safe (one lock, held during a store read:
/// reads are rare, and two partitions missing the same batch read it once).
/// </summary>
internal sealed class MessageLogCache(IMessageLog log, int capacity)
{
    private readonly object _gate = new();
    private readonly Dictionary<long, IReadOnlyList<LeadMessage>> _batches = [];
    private readonly Queue<long> _order = new();
    private long _cached;
    private long _number;
    private bool _holding;

    /// <summary>Batches read from the store so far (tests: in-order traffic reads none).</summary>
    public long StoreReads => Interlocked.Read(ref _storeReads);

    private long _storeReads;

    /// <summary>Messages in the cache now (tests).</summary>
    public long CachedMessages
    {
        get
        {
            lock (_gate)
            {
                return _cached;
            }
        }
    }

    /// <summary>A new batch, numbered after the last.</summary>
    public LogBatch Open() => new(Interlocked.Increment(ref _number));

    /// <summary>The batch is applied: its counted messages, in their logged order, serve reads until it is committed.</summary>
    public void Applied(LogBatch batch, IReadOnlyList<LeadMessage> counted)
    {
        lock (_gate)
        {
            batch.Messages = counted;
        }
    }

    /// <summary>
    /// The store committed the batch at <paramref name="position"/>: its messages join the cache of recent batches.
    /// Position 0 (the store did not tell): they stay with the batch, in memory, for as long as the engines keep them.
    /// </summary>
    public void Committed(LogBatch batch, long position)
    {
        lock (_gate)
        {
            if (position <= 0 || batch.Messages is not { } messages)
            {
                return;
            }

            batch.Position = position;
            batch.Messages = null;
            Put(position, messages);
        }
    }

    /// <summary>A batch just read from the log (on start, when re-scoring): cached as recent.</summary>
    public void Logged(long position, IReadOnlyList<LeadMessage> messages)
    {
        lock (_gate)
        {
            Put(position, messages);
        }
    }

    /// <summary>Until <see cref="Trim"/>, nothing leaves the cache (on start, when every logged batch is in memory anyway).</summary>
    public void Hold()
    {
        lock (_gate)
        {
            _holding = true;
        }
    }

    /// <summary>Ends <see cref="Hold"/>: the cache is brought back to its capacity.</summary>
    public void Trim()
    {
        lock (_gate)
        {
            _holding = false;
            Evict();
        }
    }

    /// <summary>Message <paramref name="index"/> of a batch applied since start.</summary>
    public LeadMessage Read(LogBatch batch, int index)
    {
        lock (_gate)
        {
            if (batch.Messages is { } messages)
            {
                return At(messages, index, batch.Position);
            }
        }

        return Read(batch.Position, index);
    }

    /// <summary>Message <paramref name="index"/> of the logged batch at <paramref name="position"/>: from the cache, else from the store.</summary>
    public LeadMessage Read(long position, int index)
    {
        lock (_gate)
        {
            if (!_batches.TryGetValue(position, out var messages))
            {
                Interlocked.Increment(ref _storeReads);
                messages = log.ReadLogBatch(position)
                    ?? throw new InvalidDataException($"The message log has no batch at position {position}, which holds a message the engine kept: the log changed under the pipeline.");
                Put(position, messages);
            }

            return At(messages, index, position);
        }
    }

    private static LeadMessage At(IReadOnlyList<LeadMessage> messages, int index, long position) =>
        (uint)index < (uint)messages.Count ? messages[index]
        : throw new InvalidDataException($"The message log's batch at position {position} has {messages.Count} messages, not message {index} the engine kept: the log changed under the pipeline.");

    private void Put(long position, IReadOnlyList<LeadMessage> messages)
    {
        if (_batches.TryAdd(position, messages))
        {
            _order.Enqueue(position);
            _cached += messages.Count;
            Evict();
        }
    }

    /// <summary>The oldest batches leave until the cache holds at most its capacity (the newest batch always stays).</summary>
    private void Evict()
    {
        while (!_holding && _cached > capacity && _order.Count > 1)
        {
            long oldest = _order.Dequeue();
            if (_batches.Remove(oldest, out var gone))
            {
                _cached -= gone.Count;
            }
        }
    }
}
