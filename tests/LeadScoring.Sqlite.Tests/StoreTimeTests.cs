using LeadScoring.Hosting;
using LeadScoring.Tests.Shared;
using Microsoft.Extensions.Time.Testing;

namespace LeadScoring.Sqlite.Tests;

/// <summary>The times the store records (a lead row's <c>updated_at</c>, a migration's <c>applied_at</c>) come from its <see cref="TimeProvider"/>.</summary>
public sealed class StoreTimeTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task The_times_a_store_records_come_from_its_time_provider()
    {
        string path = _folder.File();
        var time = new FakeTimeProvider(new DateTimeOffset(2031, 5, 6, 7, 8, 9, TimeSpan.Zero));
        var messages = StoreKit.Messages();
        var engine = StoreKit.Engine(messages);
        await using (var store = new SqliteLeadStore(new SqliteLeadStoreOptions { ConnectionString = "Data Source=" + path }, time))
        {
            await store.InitializeAsync(CancellationToken.None);
            time.Advance(TimeSpan.FromHours(1));
            await store.CommitAsync(new LeadStoreBatch { Leads = [.. engine.ExportLeads()], Messages = messages, StateCheckpoint = true }, CancellationToken.None);
        }

        using var raw = StoreKit.Raw(path);
        StoreKit.Scalar(raw, "SELECT min(applied_at) = max(applied_at) FROM schema_version;").Should().Be(1L);
        StoreKit.Scalar(raw, "SELECT max(applied_at) FROM schema_version;").Should().Be(new DateTimeOffset(2031, 5, 6, 7, 8, 9, TimeSpan.Zero).UtcTicks);
        StoreKit.Scalar(raw, "SELECT group_concat(DISTINCT updated_at) FROM leads;").Should().Be(
            new DateTimeOffset(2031, 5, 6, 8, 8, 9, TimeSpan.Zero).UtcTicks.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
