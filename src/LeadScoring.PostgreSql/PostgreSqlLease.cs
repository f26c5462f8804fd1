using LeadScoring.Hosting;
using Npgsql;

namespace LeadScoring.PostgreSql;

/// <summary>
/// The lease of one pipeline scope in the <c>lease</c> table (migration 5): one row per scope, held by one owner, with an
/// epoch raised by every acquisition and an expiry in server time (<c>now()</c>), so that the hosts' clocks do not
/// matter. A host takes the row with one statement when it is free or expired, renews it every third of
/// <see cref="PostgreSqlLeadStoreOptions.LeaseDuration"/>, and releases it on a graceful stop.
/// <see cref="PostgreSqlLeadStore"/> fences every commit with <see cref="FenceAsync"/>: in the commit's transaction,
/// the row must still carry this owner and epoch (it is locked until the commit ends), so a host that lost the lease,
/// even one paused and unaware, can never write after the takeover.
/// </summary>
internal sealed class PostgreSqlLease : ILeadScoringLease, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly Func<CancellationToken, ValueTask> _initialize;
    private readonly TimeProvider _time;
    private readonly object _gate = new();
    private CancellationTokenSource? _lost;
    private CancellationTokenSource? _stopRenewing;
    private Task _renewing = Task.CompletedTask;
    private long _epoch;

    /// <param name="dataSource">The store's connections.</param>
    /// <param name="initialize">Creates or migrates the schema (the store's <c>InitializeAsync</c>), before the first acquisition.</param>
    /// <param name="time">The host-side clock of the renewal timer and of the wait between attempts.</param>
    /// <param name="options">Validated options with a <see cref="PostgreSqlLeadStoreOptions.Lease"/>.</param>
    public PostgreSqlLease(NpgsqlDataSource dataSource, Func<CancellationToken, ValueTask> initialize, TimeProvider time, PostgreSqlLeadStoreOptions options)
    {
        _dataSource = dataSource;
        _initialize = initialize;
        _time = time;
        Scope = options.Lease ?? throw new ArgumentException("A lease needs a scope.", nameof(options));
        Duration = options.LeaseDuration;
        Owner = options.LeaseOwner ?? $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid().ToString("N")[..8]}";
    }

    /// <summary>The scope (the row's key).</summary>
    public string Scope { get; }

    /// <summary>This host's name in the row.</summary>
    public string Owner { get; }

    /// <summary>How long the lease lasts without a renewal.</summary>
    public TimeSpan Duration { get; }

    /// <summary>How often the holder renews it, and a standby tries to take it: a third of <see cref="Duration"/>.</summary>
    public TimeSpan RenewInterval => Duration / 3;

    /// <summary>The epoch this host holds, or 0 when it holds none.</summary>
    public long Epoch => Interlocked.Read(ref _epoch);

    /// <inheritdoc />
    public async ValueTask<CancellationToken> AcquireAsync(CancellationToken cancellationToken)
    {
        await _initialize(cancellationToken).ConfigureAwait(false);
        while (true)
        {
            if (await TryAcquireAsync(cancellationToken).ConfigureAwait(false) is { } lost)
            {
                return lost;
            }

            await Task.Delay(RenewInterval, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One attempt: takes the row when it is free, released or expired (epoch + 1), with one statement. Returns the
    /// token cancelled when the lease is lost, and starts the renewal timer; null when another host holds it.
    /// </summary>
    public async ValueTask<CancellationToken?> TryAcquireAsync(CancellationToken cancellationToken)
    {
        object? epoch = await ScalarAsync("""
            INSERT INTO lease AS l (scope, owner, epoch, expires_at) VALUES ($1, $2, 1, now() + $3)
            ON CONFLICT (scope) DO UPDATE SET owner = excluded.owner, epoch = l.epoch + 1, expires_at = excluded.expires_at
            WHERE l.expires_at <= now()
            RETURNING epoch;
            """, cancellationToken, PgText.Encode(Scope), PgText.Encode(Owner), Duration).ConfigureAwait(false);
        if (epoch is not long taken)
        {
            return null;
        }

        lock (_gate)
        {
            StopRenewing();
            _lost?.Dispose();
            _lost = new CancellationTokenSource();
            _stopRenewing = new CancellationTokenSource();
            Interlocked.Exchange(ref _epoch, taken);
            var stop = _stopRenewing.Token;
            _renewing = Task.Run(() => RenewLoopAsync(taken, stop), CancellationToken.None);
            return _lost.Token;
        }
    }

    /// <summary>Extends the lease by <see cref="Duration"/> from now (server time). False, and the lease marked lost, when this host no longer holds it.</summary>
    public async ValueTask<bool> RenewAsync(CancellationToken cancellationToken)
    {
        long epoch = Epoch;
        if (epoch == 0)
        {
            return false;
        }

        object? renewed = await ScalarAsync("""
            UPDATE lease SET expires_at = now() + $4
            WHERE scope = $1 AND owner = $2 AND epoch = $3 AND expires_at > '-infinity'
            RETURNING epoch;
            """, cancellationToken, PgText.Encode(Scope), PgText.Encode(Owner), epoch, Duration).ConfigureAwait(false);
        if (renewed is null)
        {
            MarkLost(epoch);
            return false;
        }

        return true;
    }

    /// <inheritdoc />
    public async ValueTask ReleaseAsync(CancellationToken cancellationToken)
    {
        long epoch;
        lock (_gate)
        {
            StopRenewing();
            epoch = Interlocked.Exchange(ref _epoch, 0);
        }

        if (epoch != 0)
        {
            await ScalarAsync("""
                UPDATE lease SET expires_at = '-infinity' WHERE scope = $1 AND owner = $2 AND epoch = $3 RETURNING epoch;
                """, cancellationToken, PgText.Encode(Scope), PgText.Encode(Owner), epoch).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The fence of a commit: the first statement of its transaction on <paramref name="connection"/>. Locks the lease row
    /// until the transaction ends (a takeover waits for the commit, and the next commit sees the takeover) and throws,
    /// marking the lease lost, when the row no longer carries this owner and epoch.
    /// </summary>
    /// <exception cref="InvalidOperationException">This host does not hold the lease: nothing of the commit may be written.</exception>
    public async Task FenceAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        long epoch = Epoch;
        await using var command = new NpgsqlCommand(
            "SELECT epoch FROM lease WHERE scope = $1 AND owner = $2 AND epoch = $3 AND expires_at > '-infinity' FOR UPDATE;", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = PgText.Encode(Scope) });
        command.Parameters.Add(new NpgsqlParameter { Value = PgText.Encode(Owner) });
        command.Parameters.Add(new NpgsqlParameter { Value = epoch });
        if (await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is null)
        {
            MarkLost(epoch);
            throw new InvalidOperationException(epoch == 0
                ? $"The lead store's lease '{Scope}' is not held by this host ({Owner}): take it before committing; nothing was written."
                : $"The lead store's lease '{Scope}' (epoch {epoch}) is no longer held by this host ({Owner}): another host took it over, so this commit was refused and nothing of it was written.");
        }
    }

    /// <summary>Stops the renewal timer (the lease then expires on its own unless released).</summary>
    public async ValueTask DisposeAsync()
    {
        Task renewing;
        lock (_gate)
        {
            StopRenewing();
            renewing = _renewing;
        }

        await renewing.ConfigureAwait(false);
    }

    private async Task RenewLoopAsync(long epoch, CancellationToken stop)
    {
        long renewed = _time.GetTimestamp();
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(RenewInterval, _time, stop).ConfigureAwait(false);
                if (!await RenewAsync(stop).ConfigureAwait(false))
                {
                    return;
                }

                renewed = _time.GetTimestamp();
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // a failed renewal (server unreachable) is retried until the lease would have expired
            catch (Exception)
#pragma warning restore CA1031
            {
                if (_time.GetElapsedTime(renewed) >= Duration)
                {
                    MarkLost(epoch);
                    return;
                }
            }
        }
    }

    /// <summary>Marks the holding of <paramref name="epoch"/> lost: its token is cancelled and commits are refused.</summary>
    private void MarkLost(long epoch)
    {
        CancellationTokenSource? lost;
        lock (_gate)
        {
            if (epoch == 0 || Interlocked.CompareExchange(ref _epoch, 0, epoch) != epoch)
            {
                return;
            }

            _stopRenewing?.Cancel();
            lost = _lost;
        }

        lost?.Cancel();
    }

    /// <summary>Called under <see cref="_gate"/>.</summary>
    private void StopRenewing()
    {
        _stopRenewing?.Cancel();
        _stopRenewing = null;
    }

    private async Task<object?> ScalarAsync(string sql, CancellationToken cancellationToken, params object[] parameters)
    {
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = new NpgsqlCommand(sql, connection);
            foreach (var value in parameters)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value });
            }

            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
