using System.Text.Json;
using LeadScoring.Messages;
using LeadScoring.Orleans;
using Microsoft.Extensions.Options;
using Orleans.Configuration;

namespace LeadScoring.Samples.WebApi;

/// <summary>
/// <c>WebApi:Store=cluster</c>: the app runs no scorer of its own; it is an Orleans client of a LeadScoring cluster
/// (the silos of <c>samples/Cluster</c>) that finds the silos' gateways in the cluster's PostgreSQL database
/// (<c>WebApi:Database</c>, ADO.NET clustering). The same endpoints are served through <see cref="ILeadScoringClient"/>:
/// the Segment endpoints send each request's valid messages to the cluster as one batch; <c>GET /leads/{id}</c> and
/// <c>GET /leads</c> read the cluster's explained results.
/// </summary>
public static partial class ClusterMode
{
    /// <summary>The value of <c>WebApi:Store</c> that selects this mode.</summary>
    public const string StoreName = "cluster";

    /// <summary>Whether <paramref name="options"/> select this mode.</summary>
    public static bool IsSelected(WebApiOptions options) =>
        string.Equals(options?.Store, StoreName, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Checks the settings and that the cluster's database has the Orleans tables (a silo installs them when it
    /// starts), then registers the Orleans client, <see cref="ILeadScoringClient"/> and the cluster's message sink.
    /// Returns an error message when the app cannot work so.
    /// </summary>
    public static async Task<string?> ConfigureAsync(WebApplicationBuilder builder, WebApiOptions options)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.Database))
        {
            return "WebApi:Store=cluster needs WebApi:Database: the Npgsql connection string of the cluster's database (where the silos' ADO.NET clustering keeps its membership).";
        }

        if (string.IsNullOrWhiteSpace(options.ClusterId) || string.IsNullOrWhiteSpace(options.ServiceId))
        {
            return "WebApi:ClusterId and WebApi:ServiceId must not be empty: give the silos' values (Orleans' default is 'default').";
        }

        try
        {
            _ = new Npgsql.NpgsqlConnectionStringBuilder(options.Database);
        }
        catch (ArgumentException ex)
        {
            return $"WebApi:Database is not an Npgsql connection string: {ex.Message}";
        }

        if (await MissingTablesAsync(options.Database).ConfigureAwait(false) is { } missing)
        {
            return missing;
        }

        string database = options.Database, clusterId = options.ClusterId, serviceId = options.ServiceId;
        builder.UseOrleansClient(client =>
        {
            client.UseLeadScoringPostgreSql(database);
            client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, serviceId));
            // No silo up yet (or none left): wait for one rather than fail the start; the log says so every 2 s.
            client.UseConnectionRetryFilter(async (exception, cancellationToken) =>
            {
                Console.Error.WriteLine($"warning: no silo of cluster '{clusterId}' answers yet ({exception.GetType().Name}: {FirstLine(exception.Message)}); trying again in 2 s.");
                await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken).ConfigureAwait(false);
                return true;
            });
        });
        builder.Services.AddLeadScoringClient();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<IMessageSink, ClusterMessageSink>();
        return null;
    }

    /// <summary>Null when the database answers and has the Orleans membership table; else why not.</summary>
    private static async Task<string?> MissingTablesAsync(string connectionString)
    {
        try
        {
            await using var connection = new Npgsql.NpgsqlConnection(connectionString);
            await connection.OpenAsync().ConfigureAwait(false);
            await using var command = new Npgsql.NpgsqlCommand("SELECT to_regclass('orleans_silo') IS NOT NULL AND to_regclass('orleansquery') IS NOT NULL", connection);
            return await command.ExecuteScalarAsync().ConfigureAwait(false) is true
                ? null
                : $"database '{connection.Database}' (WebApi:Database) has no Orleans tables of LeadScoring: start a silo on it first (UseLeadScoringPostgreSql installs them), see samples/Cluster/README.md.";
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return $"cannot reach the cluster's database (WebApi:Database): {FirstLine(ex.Message)}";
        }
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    /// <summary>Maps <c>/leads</c> and <c>/leads/{id}</c> on the cluster.</summary>
    public static IEndpointRouteBuilder MapClusterLeadEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/leads/{id}", GetLeadAsync).AddEndpointFilter(ApiKeys.RequireReadKey);
        app.MapGet("/leads", ListLeadsAsync).AddEndpointFilter(ApiKeys.RequireReadKey);
        return app;
    }

    private static async Task<IResult> GetLeadAsync(string id, HttpContext context, ILeadScoringClient cluster, TimeProvider time)
    {
        if (LeadEndpoints.RequestedAsOf(context, time, out var asOf) is { } invalid)
        {
            return invalid;
        }

        var json = await cluster.GetLeadJsonAsync(id, asOf, explain: true, context.RequestAborted).ConfigureAwait(false);
        return json is null
            ? LeadEndpoints.Error(StatusCodes.Status404NotFound, $"no lead '{id}' has a message up to {Output.LeadResultJson.FormatTime(asOf)}")
            : LeadEndpoints.JsonObject(json);
    }

    /// <summary>
    /// The client API has no index by stage or score: every lead of the cluster is evaluated (explained) at one instant,
    /// then filtered and ordered here as the in-process list does. Unlike the in-process list, <c>?asOf=</c> is served.
    /// </summary>
    private static async Task<IResult> ListLeadsAsync(HttpContext context, ILeadScoringClient cluster, TimeProvider time, IOptions<WebApiOptions> options)
    {
        if (ListQuery.Parse(context.Request.Query, options.Value.MaxTop, out var list) is { } invalid)
        {
            return invalid;
        }

        if (LeadEndpoints.RequestedAsOf(context, time, out var asOf) is { } invalidAsOf)
        {
            return invalidAsOf;
        }

        var lines = await cluster.EvaluateAllAsync(asOf, explain: true, context.RequestAborted).ConfigureAwait(false);
        var leads = new List<ListedLead>(lines.Count);
        foreach (var line in lines)
        {
            var lead = ListedLead.Read(line, list.Score);
            if (lead.Score is null)
            {
                return LeadEndpoints.Error(StatusCodes.Status400BadRequest, $"unknown score '{list.Score}': the model's scores are {lead.ScoreNames}");
            }

            if (list.Stage is null || string.Equals(lead.Stage, list.Stage, StringComparison.OrdinalIgnoreCase))
            {
                leads.Add(lead);
            }
        }

        var ordered = leads
            .OrderByDescending(l => l.Score)
            .ThenBy(l => l.LeadId, StringComparer.Ordinal)
            .Take(list.Top);
        return LeadEndpoints.JsonArray(ordered.Select(l => l.Json));
    }

    /// <summary>What a list needs of one lead's JSON object (contract section 5).</summary>
    private sealed record ListedLead(string Json, string LeadId, string? Stage, double? Score, string ScoreNames)
    {
        /// <summary>Reads the lead; <see cref="Score"/> is the value of <paramref name="score"/> (the first score when null), null when the lead has no such score.</summary>
        public static ListedLead Read(string json, string? score)
        {
            using var document = JsonDocument.Parse(json);
            var root = document.RootElement;
            var scores = root.GetProperty("scores");
            double? value = null;
            foreach (var s in scores.EnumerateObject())
            {
                if (score is null ? value is null : string.Equals(s.Name, score, StringComparison.Ordinal))
                {
                    value = s.Value.GetDouble();
                    if (score is not null)
                    {
                        break;
                    }
                }
            }

            // A model without scores lists its leads by id (the in-process list orders them by 0).
            value ??= score is null ? 0 : null;
            var stage = root.GetProperty("stage");
            return new ListedLead(json, root.GetProperty("leadId").GetString()!, stage.ValueKind == JsonValueKind.String ? stage.GetString() : null,
                value, string.Join(", ", scores.EnumerateObject().Select(s => s.Name)));
        }
    }

    /// <summary>Sends each request's valid messages to the cluster as one batch (<see cref="ILeadScoringClient.IngestAsync"/>).</summary>
    private sealed partial class ClusterMessageSink(ILeadScoringClient cluster, ILogger<ClusterMessageSink> logger) : IMessageSink
    {
        public async Task WriteAsync(IReadOnlyList<LeadMessage> messages, CancellationToken cancellationToken)
        {
            var result = await cluster.IngestAsync(messages, cancellationToken).ConfigureAwait(false);
            if (result.Rejected.Count > 0)
            {
                // Parsed messages are not rejected by the cluster; should it ever happen, the request fails (500) and the log says why.
                foreach (var r in result.Rejected)
                {
                    LogRejected(logger, r.Location, r.Reason);
                }

                throw new InvalidOperationException($"the cluster rejected {result.Rejected.Count} parsed message(s), first {result.Rejected[0].Location}: {result.Rejected[0].Reason}");
            }
        }

        [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "The cluster rejected a parsed message at {Location}: {Reason}")]
        private static partial void LogRejected(ILogger logger, string location, string reason);
    }
}
