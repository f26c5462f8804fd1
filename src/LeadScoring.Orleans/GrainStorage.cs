using LeadScoring.Hosting;
using LeadScoring.Messages;

namespace LeadScoring.Orleans;

/// <summary>
/// What the grains need from storage: the message log (the source of truth: every counted message, and every group
/// message shared by the partitions) and the outbox of stage notifications. The one port between the grains and the
/// project's store contract; <see cref="LeadStoreGrainStorage"/> is its only adapter, so that a change of that
/// contract changes one class.
/// </summary>
internal interface ILeadScoringGrainStorage
{
    /// <summary>Appends a batch to the log, all or nothing: its messages and the group messages counted in it.</summary>
    ValueTask AppendAsync(IReadOnlyList<LeadMessage> messages, IReadOnlyList<LeadMessage> accountMessages, CancellationToken cancellationToken);

    /// <summary>Every logged message, in log order.</summary>
    IAsyncEnumerable<LeadMessage> ReadMessagesAsync(CancellationToken cancellationToken);

    /// <summary>Every logged group message (account traits).</summary>
    IAsyncEnumerable<LeadMessage> ReadAccountMessagesAsync(CancellationToken cancellationToken);

    /// <summary>Adds notifications to the outbox (before they are delivered).</summary>
    ValueTask AddNotificationsAsync(IReadOnlyList<LeadNotification> notifications, CancellationToken cancellationToken);

    /// <summary>The notifications in the outbox, not yet acknowledged.</summary>
    ValueTask<IReadOnlyList<LeadNotification>> PendingNotificationsAsync(CancellationToken cancellationToken);

    /// <summary>Removes delivered notifications from the outbox.</summary>
    ValueTask AcknowledgeAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="ILeadScoringGrainStorage"/> over the project's <see cref="ILeadStore"/> (in memory, SQLite, PostgreSQL):
/// the log is the store's message log (<see cref="IMessageLog"/>, one position per appended batch), the outbox its
/// <see cref="IOutbox"/>. The store keeps no account log: the group messages are those of the message log (a group
/// message logged twice, as a retry, is one entry of an account: the engine's account book keeps one of equal copies).
/// Lead states are not written: a partition grain rebuilds its leads from the log. The store's schema is created once,
/// on first use.
/// </summary>
internal sealed class LeadStoreGrainStorage(ILeadStore store) : ILeadScoringGrainStorage
{
    private readonly SemaphoreSlim _init = new(1, 1);
    private volatile bool _initialized;

    public async ValueTask AppendAsync(IReadOnlyList<LeadMessage> messages, IReadOnlyList<LeadMessage> accountMessages, CancellationToken cancellationToken)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        // The counted group messages are in the batch's messages: the log gives them back (ReadAccountMessagesAsync).
        await store.CommitAsync(new LeadStoreBatch { Messages = messages }, cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<LeadMessage> ReadMessagesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var (_, messages) in store.ReadLogAsync(0, cancellationToken).ConfigureAwait(false))
        {
            foreach (var m in messages)
            {
                yield return m;
            }
        }
    }

    public async IAsyncEnumerable<LeadMessage> ReadAccountMessagesAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var (_, messages) in store.ReadLogAsync(0, cancellationToken).ConfigureAwait(false))
        {
            foreach (var m in messages)
            {
                if (m.Type == MessageType.Group)
                {
                    yield return m;
                }
            }
        }
    }

    public async ValueTask AddNotificationsAsync(IReadOnlyList<LeadNotification> notifications, CancellationToken cancellationToken)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        await store.CommitAsync(new LeadStoreBatch { Notifications = notifications }, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask<IReadOnlyList<LeadNotification>> PendingNotificationsAsync(CancellationToken cancellationToken)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        return await store.LoadPendingNotificationsAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask AcknowledgeAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        await InitializeAsync(cancellationToken).ConfigureAwait(false);
        await store.AcknowledgeNotificationsAsync(keys, cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        if (_initialized)
        {
            return;
        }

        await _init.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_initialized)
            {
                await store.InitializeAsync(cancellationToken).ConfigureAwait(false);
                _initialized = true;
            }
        }
        finally
        {
            _init.Release();
        }
    }
}
