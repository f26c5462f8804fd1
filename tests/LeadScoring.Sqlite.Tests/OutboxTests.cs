using LeadScoring.Hosting;

namespace LeadScoring.Sqlite.Tests;

/// <summary>The outbox: notifications committed with their batch survive until acknowledged.</summary>
public class OutboxTests
{
    [Fact]
    public async Task Notifications_SurviveReopening_UntilAcknowledged()
    {
        string path = Path.Combine(Directory.CreateTempSubdirectory("ls-outbox-").FullName, "leads.db");
        var n1 = new LeadNotification("k1", LeadNotificationKind.StageChanged, "u1", "{\"a\":1}");
        var n2 = new LeadNotification("k2", LeadNotificationKind.ScoreChanged, "u2", "{\"b\":2}");
        await using (var store = new SqliteLeadStore(new SqliteLeadStoreOptions { ConnectionString = $"Data Source={path}" }))
        {
            await store.InitializeAsync(default);
            await store.CommitAsync(new LeadStoreBatch { Notifications = [n1, n2] }, default);
            await store.CommitAsync(new LeadStoreBatch { Notifications = [n1] }, default);
        }

        await using (var reopened = new SqliteLeadStore(new SqliteLeadStoreOptions { ConnectionString = $"Data Source={path}" }))
        {
            await reopened.InitializeAsync(default);
            (await reopened.LoadPendingNotificationsAsync(default)).Should().Equal(n1, n2);
            await reopened.AcknowledgeNotificationsAsync(["k1"], default);
            (await reopened.LoadPendingNotificationsAsync(default)).Should().Equal(n2);
        }
    }
}
