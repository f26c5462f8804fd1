using System.Reflection;
using Npgsql;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace LeadScoring.Stores.Tests;

/// <summary>
/// The PostgreSQL server of the tests: <c>LEADSCORING_TEST_POSTGRES</c> is an Npgsql connection string to it, as a
/// superuser (or a user that may create databases). Without it the PostgreSQL tests fail, saying so, unless
/// <c>LEADSCORING_SKIP_POSTGRES=1</c>: then they are reported as skipped, with the reason.
/// </summary>
internal static class PostgreSqlServer
{
    public const string Variable = "LEADSCORING_TEST_POSTGRES";
    public const string SkipVariable = "LEADSCORING_SKIP_POSTGRES";

    public static string? ConnectionString => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } s ? s : null;

    public static string? SkipReason =>
        ConnectionString is null && Environment.GetEnvironmentVariable(SkipVariable) == "1"
            ? $"PostgreSQL tests skipped: {SkipVariable}=1 and {Variable} is not set (scripts/pg-test-cluster.sh starts a server; see CONTRIBUTING.md)"
            : null;

    public static string RequireConnectionString() => ConnectionString ?? throw new InvalidOperationException(
        $"{Variable} is not set: the PostgreSQL store tests need a server. Start one with `scripts/pg-test-cluster.sh start && " +
        $"source artifacts/pg-test-cluster.env` (see CONTRIBUTING.md), or set {SkipVariable}=1 to skip these tests.");
}

/// <summary>A test class that needs the PostgreSQL server; its <see cref="StoreFactAttribute"/> tests are skipped as <see cref="PostgreSqlServer.SkipReason"/> says.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RequiresPostgreSqlAttribute : Attribute;

/// <summary>A fact of the store suite: like <see cref="FactAttribute"/>, but skipped in a <see cref="RequiresPostgreSqlAttribute"/> class when PostgreSQL tests are skipped.</summary>
[XunitTestCaseDiscoverer("LeadScoring.Stores.Tests.StoreFactDiscoverer", "LeadScoring.Stores.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class StoreFactAttribute : FactAttribute;

/// <summary>Discovers <see cref="StoreFactAttribute"/> tests; the class is known here, unlike in the attribute.</summary>
public sealed class StoreFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    /// <inheritdoc />
    protected override IXunitTestCase CreateTestCase(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute) =>
        testMethod.TestClass.Class.ToRuntimeType().GetCustomAttribute<RequiresPostgreSqlAttribute>() is not null && PostgreSqlServer.SkipReason is { } reason
            ? new XunitSkippedDataRowTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, reason)
            : base.CreateTestCase(discoveryOptions, testMethod, factAttribute);
}

/// <summary>
/// A fresh database for one test class (dropped at its end), and a fresh schema in it for each test:
/// <see cref="NewSchemaAsync"/> gives a connection string whose search path is that schema.
/// </summary>
public sealed class PostgreSqlDatabase : IAsyncLifetime
{
    private string? _admin;

    public string Name { get; } = "leadscoring_test_" + Guid.NewGuid().ToString("N");

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (PostgreSqlServer.SkipReason is not null)
        {
            return;
        }

        _admin = PostgreSqlServer.RequireConnectionString();
        await ExecuteAsync(_admin, $"CREATE DATABASE {Name};");
        ConnectionString = new NpgsqlConnectionStringBuilder(_admin) { Database = Name }.ConnectionString;
    }

    public async Task<string> NewSchemaAsync()
    {
        string schema = "t_" + Guid.NewGuid().ToString("N");
        await ExecuteAsync(ConnectionString, $"CREATE SCHEMA {schema};");
        return new NpgsqlConnectionStringBuilder(ConnectionString) { SearchPath = schema }.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        if (_admin is not null)
        {
            NpgsqlConnection.ClearAllPools();
            await ExecuteAsync(_admin, $"DROP DATABASE IF EXISTS {Name} WITH (FORCE);");
        }
    }

    public static async Task<object?> ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }
}
