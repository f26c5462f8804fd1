using System.Globalization;
using System.Text;
using LeadScoring.Engine;
using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Output;
using Microsoft.Extensions.Options;

namespace LeadScoring.Samples.WebApi;

/// <summary>
/// <c>GET /leads/{id}</c>: the lead as <c>leadscore score --explain</c> prints it (spec section 5), as of now or
/// <c>?asOf=</c>. <c>GET /leads?stage=mql&amp;top=50</c>, <c>GET /leads?score=total&amp;top=10</c>: arrays of such objects.
/// </summary>
public static class LeadEndpoints
{
    /// <summary>How many leads a list returns when <c>top</c> is not given.</summary>
    public const int DefaultTop = 50;

    private const string JsonContentType = "application/json; charset=utf-8";

    /// <summary>Maps <c>/leads</c> and <c>/leads/{id}</c>.</summary>
    public static IEndpointRouteBuilder MapLeadEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/leads/{id}", GetLeadAsync).AddEndpointFilter(ApiKeys.RequireReadKey);
        app.MapGet("/leads", ListLeadsAsync).AddEndpointFilter(ApiKeys.RequireReadKey);
        return app;
    }

    private static async Task<IResult> GetLeadAsync(string id, HttpContext context, ILeadScoreReader reader, TimeProvider time)
    {
        var query = context.Request.Query;
        DateTimeOffset asOf;
        if (query.TryGetValue("asOf", out var values))
        {
            if (values.Count != 1 || !TryParseAsOf(values[0], out asOf))
            {
                return Error(StatusCodes.Status400BadRequest,
                    $"asOf '{values}' is not an ISO 8601 instant with an offset or Z, e.g. 2026-11-30T00:00:00Z");
            }
        }
        else
        {
            asOf = time.GetUtcNow();
        }

        LeadResult? lead;
        try
        {
            lead = await reader.GetLeadAsync(id, asOf, context.RequestAborted).ConfigureAwait(false);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            // The lead's history before asOf is beyond the reorder horizon (LeadScoring:ReorderHorizon).
            return Error(StatusCodes.Status400BadRequest, FirstLine(ex.Message));
        }

        return lead is null
            ? Error(StatusCodes.Status404NotFound, $"no lead '{id}' has a message up to {LeadResultJson.FormatTime(asOf)}")
            : Results.Text(LeadResultJson.ToJson(lead), JsonContentType, Encoding.UTF8);
    }

    private static async Task<IResult> ListLeadsAsync(HttpContext context, ILeadScoreReader reader, TimeProvider time, IOptions<WebApiOptions> options)
    {
        var query = context.Request.Query;
        string? stage = Single(query, "stage"), score = Single(query, "score"), topText = Single(query, "top");
        int maxTop = options.Value.MaxTop;
        if (query.ContainsKey("asOf"))
        {
            return Error(StatusCodes.Status400BadRequest, "asOf is supported by GET /leads/{id} only; lists are as of the request time");
        }

        if (stage is null && score is null)
        {
            return Error(StatusCodes.Status400BadRequest, "give ?stage=NAME (leads in that stage) and/or ?score=NAME (leads by that score), with ?top=N");
        }

        int top = DefaultTop;
        if (topText is not null && (!int.TryParse(topText, NumberStyles.None, CultureInfo.InvariantCulture, out top) || top < 1 || top > maxTop))
        {
            return Error(StatusCodes.Status400BadRequest, $"top '{topText}' must be a whole number from 1 to {maxTop}");
        }

        var cancellationToken = context.RequestAborted;
        IReadOnlyList<LeadResult> candidates;
        try
        {
            candidates = score is not null
                ? await reader.TopAsync(score, int.MaxValue, cancellationToken).ConfigureAwait(false)
                : await reader.InStageAsync(stage!, int.MaxValue, cancellationToken).ConfigureAwait(false);
        }
        catch (ArgumentException ex) when (ex is not ArgumentOutOfRangeException)
        {
            return Error(StatusCodes.Status400BadRequest, FirstLine(ex.Message));
        }

        // The reader lists leads without their explanation, each at its own "now": evaluate every candidate again,
        // explained, at one instant, then filter and order at that instant.
        var asOf = time.GetUtcNow();
        var leads = new List<LeadResult>(candidates.Count);
        foreach (var candidate in candidates)
        {
            try
            {
                if (await reader.GetLeadAsync(candidate.LeadId, asOf, cancellationToken).ConfigureAwait(false) is { } lead &&
                    (stage is null || string.Equals(lead.Stage, stage, StringComparison.OrdinalIgnoreCase)))
                {
                    leads.Add(lead);
                }
            }
            catch (ArgumentOutOfRangeException)
            {
                // Cannot happen at "now" (after every lead's base snapshot); skip rather than fail the list.
            }
        }

        var ordered = leads
            .OrderByDescending(l => score is null ? (l.ScoreNames.Length > 0 ? l.ValueAt(0) : 0) : l[score])
            .ThenBy(l => l.LeadId, StringComparer.Ordinal)
            .Take(top);
        var json = new StringBuilder("[");
        foreach (var lead in ordered)
        {
            if (json.Length > 1)
            {
                json.Append(',');
            }

            json.Append(LeadResultJson.ToJson(lead));
        }

        json.Append(']');
        return Results.Text(json.ToString(), JsonContentType, Encoding.UTF8);
    }

    /// <summary>Parses <c>asOf</c> as the CLI's <c>--as-of</c>; a space stands for the <c>+</c> of an offset left unencoded in the URL.</summary>
    public static bool TryParseAsOf(string? text, out DateTimeOffset asOf)
    {
        asOf = default;
        if (text is null || !MessageParser.TryParseTimestamp(text.Replace(' ', '+'), out long ticks))
        {
            return false;
        }

        asOf = new DateTimeOffset(ticks, TimeSpan.Zero);
        return true;
    }

    private static string? Single(IQueryCollection query, string key) =>
        query.TryGetValue(key, out var v) && v.Count > 0 ? v[^1] : null;

    private static string FirstLine(string message)
    {
        int cut = message.IndexOf(" (Parameter", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    private static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);
}
