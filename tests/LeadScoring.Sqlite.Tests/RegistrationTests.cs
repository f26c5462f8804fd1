using System.Reflection;
using LeadScoring.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace LeadScoring.Sqlite.Tests;

/// <summary><c>UseSqlite</c> registers the store once.</summary>
public sealed class RegistrationTests : IDisposable
{
    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    /// <summary>The builder <c>AddLeadScoring()</c> returns (its constructor is internal to LeadScoring.Hosting).</summary>
    private static LeadScoringBuilder Builder(IServiceCollection services) =>
        (LeadScoringBuilder)Activator.CreateInstance(typeof(LeadScoringBuilder), BindingFlags.Instance | BindingFlags.NonPublic, null, [services], null)!;

    [Fact]
    public async Task UseSqlite_RegistersOneSqliteStore_EvenWhenCalledTwice()
    {
        var services = new ServiceCollection();
        var builder = Builder(services);
        builder.UseSqlite("Data Source=" + _folder.File("first.db")).Should().BeSameAs(builder);
        builder.UseSqlite(o =>
        {
            o.ConnectionString = "Data Source=" + _folder.File("second.db");
            o.CommandTimeoutSeconds = 5;
        });

        services.Count(d => d.ServiceType == typeof(ILeadStore)).Should().Be(1);
        await using var provider = services.BuildServiceProvider();
        var store = provider.GetRequiredService<ILeadStore>();
        store.Should().BeOfType<SqliteLeadStore>().And.BeSameAs(provider.GetRequiredService<ILeadStore>());
        await store.InitializeAsync(CancellationToken.None);
        File.Exists(_folder.File("second.db")).Should().BeTrue("the last call wins");
        File.Exists(_folder.File("first.db")).Should().BeFalse();
    }

    [Fact]
    public void UseSqlite_ChecksTheOptionsAtOnce()
    {
        var builder = Builder(new ServiceCollection());
        ((Action)(() => builder.UseSqlite(" "))).Should().Throw<ArgumentException>();
        ((Action)(() => builder.UseSqlite(o => o.CommandTimeoutSeconds = 5))).Should().Throw<ArgumentException>().WithMessage("*ConnectionString*");
        ((Action)(() => builder.UseSqlite(o => { o.ConnectionString = "Data Source=x.db"; o.CommandTimeoutSeconds = -1; }))).Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public async Task TheContainer_DisposesTheStore_SynchronouslyToo()
    {
        var services = new ServiceCollection();
        Builder(services).UseSqlite("Data Source=" + _folder.File());
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<ILeadStore>().InitializeAsync(CancellationToken.None);
        ((Action)provider.Dispose).Should().NotThrow();
    }
}
