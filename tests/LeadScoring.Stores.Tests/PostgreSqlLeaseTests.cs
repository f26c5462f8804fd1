using LeadScoring.Tests.Shared;
using LeadScoring.Hosting;
using LeadScoring.Hosting.Tests;
using LeadScoring.PostgreSql;
using LeadScoring.Sqlite.Tests;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace LeadScoring.Stores.Tests;

/// <summary>
/// The PostgreSQL lease (<see cref="PostgreSqlLeadStoreOptions.Lease"/>): one holder per scope, taken with epoch + 1 when
/// free or expired, renewed, released on a graceful stop; and the fence: a store whose lease was taken commits nothing.
/// Expiry is made by moving the row's <c>expires_at</c> into the past (what a paused holder sees), never by waiting.
/// </summary>
[RequiresPostgreSql]
public sealed class PostgreSqlLeaseTests(PostgreSqlDatabase database) : IClassFixture<PostgreSqlDatabase>, IAsyncLifetime
{
    private const string Scope = "inbox";
    private readonly List<PostgreSqlLeadStore> _stores = [];
    private string _connectionString = "";

    public async Task InitializeAsync() => _connectionString = await database.NewSchemaAsync();

    public async Task DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }
    }

    private async Task<PostgreSqlLeadStore> OpenAsync(string owner)
    {
        // An hour: the renewal timer never runs during a test; renewals are made by the test.
        var store = new PostgreSqlLeadStore(new PostgreSqlLeadStoreOptions
        {
            ConnectionString = _connectionString, Lease = Scope, LeaseOwner = owner, LeaseDuration = TimeSpan.FromHours(1),
        });
        _stores.Add(store);
        await store.InitializeAsync(CancellationToken.None);
        return store;
    }

    /// <summary>Two stores on the scope; a holds the lease (the token: a's lease lost).</summary>
    private async Task<(PostgreSqlLeadStore A, PostgreSqlLeadStore B, CancellationToken Lost)> TwoHostsAsync()
    {
        var a = await OpenAsync("a");
        var b = await OpenAsync("b");
        var lost = (await a.Lease!.TryAcquireAsync(CancellationToken.None))!.Value;
        return (a, b, lost);
    }

    private async Task<string> RowAsync() =>
        (string)(await PostgreSqlDatabase.ExecuteAsync(_connectionString,
            "SELECT owner || ' ' || epoch || ' ' || (expires_at > now()) FROM lease WHERE scope = 'inbox';"))!;

    private Task ExpireAsync() =>
        PostgreSqlDatabase.ExecuteAsync(_connectionString, "UPDATE lease SET expires_at = now() - interval '1 second' WHERE scope = 'inbox';");

    private static LeadStoreBatch Batch(int from, int count, string checkpoint) => new()
    {
        Messages = StoreKit.Messages().Skip(from).Take(count).ToList(),
        Checkpoints = new Dictionary<string, string> { ["events"] = checkpoint },
        Notifications = [new LeadNotification("key-" + checkpoint, LeadNotificationKind.StageChanged, "u1", "{}")],
    };

    private static async Task<int> LoggedAsync(ILeadStore store) =>
        (await StoreKit.ToListAsync(store.LoggedMessagesAsync(CancellationToken.None))).Count;

    [StoreFact]
    public async Task Acquire_TakesAFreeScope_AndASecondHostWaits()
    {
        var a = await OpenAsync("a");
        var b = await OpenAsync("b");

        (await a.Lease!.TryAcquireAsync(CancellationToken.None)).Should().NotBeNull();
        a.Lease!.Epoch.Should().Be(1);
        (await RowAsync()).Should().Be("a 1 true");

        (await b.Lease!.TryAcquireAsync(CancellationToken.None)).Should().BeNull("a holds the scope and its lease has not expired");
        b.Lease!.Epoch.Should().Be(0);
        (await RowAsync()).Should().Be("a 1 true", "a refused attempt changes nothing");

        using var waiting = new CancellationTokenSource();
        var acquire = b.Lease!.AcquireAsync(waiting.Token).AsTask();
        acquire.IsCompleted.Should().BeFalse("b waits while a holds the lease");
        await waiting.CancelAsync();
        await acquire.Invoking(t => t).Should().ThrowAsync<OperationCanceledException>();
    }

    [StoreFact]
    public async Task Renew_ExtendsTheLease_AnExpiredOneIsRenewedWhenNoOneTookIt()
    {
        var a = await OpenAsync("a");
        await a.Lease!.TryAcquireAsync(CancellationToken.None);
        await ExpireAsync();
        (await RowAsync()).Should().Be("a 1 false");

        (await a.Lease!.RenewAsync(CancellationToken.None)).Should().BeTrue("the row still carries a's owner and epoch");
        (await RowAsync()).Should().Be("a 1 true", "renewed from the server's now(), same epoch");
    }

    [StoreFact]
    public async Task TheRenewalTimer_RenewsEveryThirdOfTheDuration_AndNoticesATakeover()
    {
        // The timer runs on the host's TimeProvider: the test moves the clock, the store's server time does the rest.
        var time = new FakeTimeProvider(StoreKit.T0);
        var a = new PostgreSqlLeadStore(
            new PostgreSqlLeadStoreOptions { ConnectionString = _connectionString, Lease = Scope, LeaseOwner = "a", LeaseDuration = TimeSpan.FromSeconds(30) }, time);
        _stores.Add(a);
        var b = await OpenAsync("b");
        var lost = (await a.Lease!.TryAcquireAsync(CancellationToken.None))!.Value;

        // The clock moves a second at a time (the timer may not be waiting yet when it first moves).
        await ExpireAsync();
        await UntilAsync(async () => { time.Advance(TimeSpan.FromSeconds(1)); return await RowAsync() == "a 1 true"; });

        await ExpireAsync();
        (await b.Lease!.TryAcquireAsync(CancellationToken.None)).Should().NotBeNull();
        lost.IsCancellationRequested.Should().BeFalse();
        await UntilAsync(() => { time.Advance(TimeSpan.FromSeconds(1)); return Task.FromResult(lost.IsCancellationRequested); });
        a.Lease.Epoch.Should().Be(0);
        (await RowAsync()).Should().Be("b 2 true");
    }

    [StoreFact]
    public async Task Expiry_LetsAnotherHostTakeOver_WithTheNextEpoch_AndTheOldHolderLearnsItLostIt()
    {
        var (a, b, lost) = await TwoHostsAsync();

        await ExpireAsync();
        (await b.Lease!.TryAcquireAsync(CancellationToken.None)).Should().NotBeNull("an expired lease is free");
        b.Lease!.Epoch.Should().Be(2);
        (await RowAsync()).Should().Be("b 2 true");

        lost.IsCancellationRequested.Should().BeFalse("a has not looked yet");
        (await a.Lease!.RenewAsync(CancellationToken.None)).Should().BeFalse();
        lost.IsCancellationRequested.Should().BeTrue("a's renewal found the row taken");
        a.Lease!.Epoch.Should().Be(0);
        (await RowAsync()).Should().Be("b 2 true", "a's failed renewal changed nothing");
    }

    [StoreFact]
    public async Task Fence_AHostWhoseLeaseWasTaken_CommitsNothing_AndTheNewHolderCommits()
    {
        var (a, b, lost) = await TwoHostsAsync();
        await a.CommitAsync(Batch(0, 4, "4"), CancellationToken.None);

        // a pauses (its renewal timer does not run); its lease expires and b takes it. a does not know yet.
        await ExpireAsync();
        await b.Lease!.TryAcquireAsync(CancellationToken.None);
        a.Lease!.Epoch.Should().Be(1, "a has not renewed since: it still believes it holds epoch 1");

        var zombie = async () => await a.CommitAsync(Batch(4, 4, "8"), CancellationToken.None);
        (await zombie.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("lease 'inbox' (epoch 1)").And.Contain("nothing of it was written");
        lost.IsCancellationRequested.Should().BeTrue("a fenced commit marks the lease lost");
        var acknowledge = async () => await a.AcknowledgeNotificationsAsync(["key-4"], CancellationToken.None);
        await acknowledge.Should().ThrowAsync<InvalidOperationException>("acknowledgements are fenced too");

        (await LoggedAsync(b)).Should().Be(4, "nothing of a's batch after the takeover is in the log");
        (await b.GetCheckpointAsync("events", CancellationToken.None)).Should().Be("4");
        (await b.LoadPendingNotificationsAsync(CancellationToken.None)).Select(n => n.Key).Should().Equal("key-4");

        await b.CommitAsync(Batch(4, 4, "8"), CancellationToken.None);
        (await LoggedAsync(b)).Should().Be(8);
        (await b.GetCheckpointAsync("events", CancellationToken.None)).Should().Be("8");
    }

    [StoreFact]
    public async Task Release_FreesTheScopeAtOnce_AndTheReleasingHostCommitsNoMore()
    {
        var (a, b, lost) = await TwoHostsAsync();
        await a.CommitAsync(Batch(0, 4, "4"), CancellationToken.None);

        await a.Lease!.ReleaseAsync(CancellationToken.None);
        (await RowAsync()).Should().Be("a 1 false", "released: expired (at -infinity), not deleted");
        lost.IsCancellationRequested.Should().BeFalse("giving the lease up is not losing it");
        var after = async () => await a.CommitAsync(Batch(4, 4, "8"), CancellationToken.None);
        await after.Should().ThrowAsync<InvalidOperationException>();

        (await b.Lease!.TryAcquireAsync(CancellationToken.None)).Should().NotBeNull("a released scope is free without waiting for an expiry");
        (await RowAsync()).Should().Be("b 2 true");
        (await LoggedAsync(b)).Should().Be(4);
    }

    [StoreFact]
    public async Task Fence_ACommitWithoutTheLease_IsRefused()
    {
        var a = await OpenAsync("a");
        var commit = async () => await a.CommitAsync(Batch(0, 4, "4"), CancellationToken.None);
        (await commit.Should().ThrowAsync<InvalidOperationException>()).Which.Message.Should().Contain("not held by this host (a)");
        (await LoggedAsync(a)).Should().Be(0);
    }

    [StoreFact]
    public async Task Takeover_WaitsForTheHoldersCommitInFlight_ThenSeesIt()
    {
        var (a, b, _) = await TwoHostsAsync();
        await ExpireAsync();

        // a's commit stops inside its transaction (fenced: the lease row is locked) while b tries to take the lease.
        var inside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var proceed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        a.CommitStepHook = step =>
        {
            if (step == "messages")
            {
                inside.SetResult();
                proceed.Task.Wait();
            }
        };
        var commit = Task.Run(async () => await a.CommitAsync(Batch(0, 4, "4"), CancellationToken.None));
        await inside.Task;
        var takeover = b.Lease!.TryAcquireAsync(CancellationToken.None).AsTask();

        // b's statement waits on the row lock of a's transaction (seen in pg_stat_activity, not guessed from time).
        try
        {
            await using var admin = new NpgsqlConnection(_connectionString);
            await admin.OpenAsync();
            await using var waiting = new NpgsqlCommand(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO lease%';", admin);
            while ((long)(await waiting.ExecuteScalarAsync())! == 0)
            {
                takeover.IsCompleted.Should().BeFalse("b cannot take the lease while a's commit holds the row");
                await Task.Delay(10);
            }
        }
        finally
        {
            proceed.TrySetResult();
        }

        await commit;   // a held the lease for its whole transaction: committed
        (await takeover).Should().NotBeNull("the lease had expired: b takes it once a's commit ends");
        b.Lease!.Epoch.Should().Be(2);
        (await LoggedAsync(b)).Should().Be(4, "b sees a's last commit");
        a.CommitStepHook = null;
        var late = async () => await a.CommitAsync(Batch(4, 4, "8"), CancellationToken.None);
        await late.Should().ThrowAsync<InvalidOperationException>();
    }

    [StoreFact]
    public async Task Hosts_TheStandbyStartsOnlyOnceTheHolderReleasesOnAGracefulStop()
    {
        void Configure(LeadScoringOptions o)
        {
            o.ModelPath = HostKit.Sample("model.json");
            o.ReorderHorizon = null;
        }

        void Store(LeadScoringBuilder builder, string owner) =>
            builder.UsePostgreSql(o => (o.ConnectionString, o.Lease, o.LeaseOwner, o.LeaseDuration) = (_connectionString, Scope, owner, TimeSpan.FromSeconds(3)));

        var messages = HostKit.SampleMessages().Take(500).ToList();
        using var first = HostKit.Build(Configure, b => Store(b, "first"));
        await first.StartAsync();
        var firstStatus = first.Services.GetRequiredService<LeadScoringStatus>();
        await UntilAsync(() => firstStatus.Started || firstStatus.Fault is not null);
        firstStatus.Fault.Should().BeNull();
        foreach (var m in messages)
        {
            await first.Services.GetRequiredService<ILeadMessageWriter>().WriteAsync(m);
        }

        await HostKit.WaitForCommittedAsync(first.Services, 1);

        using var second = HostKit.Build(Configure, b => Store(b, "second"));
        await second.StartAsync();   // returns at once: the host is a standby
        var secondStatus = second.Services.GetRequiredService<LeadScoringStatus>();
        var secondLease = (PostgreSqlLease)second.Services.GetRequiredService<ILeadScoringLease>();
        secondStatus.Started.Should().BeFalse("the first host holds the lease");
        (await RowAsync()).Should().StartWith("first 1 ");

        // Until it holds the lease a standby has no leads to evaluate a list with: both lists refuse, alike.
        var standbyReader = second.Services.GetRequiredService<ILeadScoreReader>();
        await standbyReader.Invoking(r => r.TopAsync("fit", 5).AsTask()).Should().ThrowAsync<InvalidOperationException>().WithMessage("*not started*");
        await standbyReader.Invoking(r => r.InStageAsync("mql", 5).AsTask()).Should().ThrowAsync<InvalidOperationException>().WithMessage("*not started*");

        await first.StopAsync();   // drains, then releases: the standby takes it at its next attempt
        await UntilAsync(() => secondStatus.Started || secondStatus.Fault is not null);
        secondStatus.Fault.Should().BeNull();
        secondLease.Epoch.Should().Be(2);
        (await RowAsync()).Should().Be("second 2 true");
        (await LoggedAsync(second.Services.GetRequiredService<ILeadStore>())).Should().BeGreaterThan(0);
        await second.StopAsync();
    }

    [StoreFact]
    public async Task Hosts_AHostWhoseLeaseIsTaken_StopsWithAFault()
    {
        using var host = HostKit.Build(
            o => o.ModelPath = HostKit.Sample("model.json"),
            b => b.UsePostgreSql(o => (o.ConnectionString, o.Lease, o.LeaseOwner, o.LeaseDuration) = (_connectionString, Scope, "old", TimeSpan.FromHours(1))));
        await host.StartAsync();
        var status = host.Services.GetRequiredService<LeadScoringStatus>();
        await UntilAsync(() => status.Started || status.Fault is not null);
        var other = await OpenAsync("new");
        await ExpireAsync();
        (await other.Lease!.TryAcquireAsync(CancellationToken.None)).Should().NotBeNull();

        // The old host's next commit is fenced off; the pipeline stops and the host with it.
        await host.Services.GetRequiredService<ILeadMessageWriter>().WriteAsync(HostKit.SampleMessages()[0]);
        // The fault is noted, then the host asked to stop, one after the other: wait for both.
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        await UntilAsync(() => status.Fault is not null && lifetime.ApplicationStopping.IsCancellationRequested);
        status.Fault.Should().Contain("lease");
        (await LoggedAsync(other)).Should().Be(0, "the old host's batch was not written");
        (await RowAsync()).Should().StartWith("new 2 ");
        await host.StopAsync();
    }

    private static Task UntilAsync(Func<bool> condition) => UntilAsync(() => Task.FromResult(condition()));

    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(60);
        while (!await condition())
        {
            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException("the condition did not hold within 60 s");
            }

            await Task.Delay(20);
        }
    }
}
