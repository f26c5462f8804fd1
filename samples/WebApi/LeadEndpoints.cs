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
        if (RequestedAsOf(context, time, out var asOf) is { } invalid)
        {
            return invalid;
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
            : JsonObject(LeadResultJson.ToJson(lead));
    }

    private static async Task<IResult> ListLeadsAsync(HttpContext context, ILeadScoreReader reader, TimeProvider time, IOptions<WebApiOptions> options)
    {
        if (context.Request.Query.ContainsKey("asOf"))
        {
            return Error(StatusCodes.Status400BadRequest, "asOf is supported by GET /leads/{id} only; lists are as of the request time");
        }

        if (ListQuery.Parse(context.Request.Query, options.Value.MaxTop, out var list) is { } invalid)
        {
            return invalid;
        }

        var (stage, score, top) = list;
        var cancellationToken = context.RequestAborted;
        // Every object of a list is explained at one instant, the request time.
        var asOf = time.GetUtcNow();
        try
        {
            if (stage is not null && score is not null)
            {
                // No index orders a stage by another score: every lead with that score, evaluated at the request time,
                // then those in the stage ordered by it there.
                var candidates = await reader.TopAsync(score, int.MaxValue, cancellationToken).ConfigureAwait(false);
                var inStage = await ExplainedAsync(reader, candidates, stage, asOf, cancellationToken).ConfigureAwait(false);
                return JsonArray(inStage.OrderByDescending(l => l[score]).ThenBy(l => l.LeadId, StringComparer.Ordinal).Take(top).Select(LeadResultJson.ToJson));
            }

            // The reader's order (its index: each lead's scores and stage as of its latest change), `top` of them, each
            // explained at the request time. A lead listed in the stage that is no longer in it now (decay moved it
            // since, and the stage clock has not ticked yet) is left out, and more of the order read.
            int asked = top;
            while (true)
            {
                var listed = score is not null
                    ? await reader.TopAsync(score, asked, cancellationToken).ConfigureAwait(false)
                    : await reader.InStageAsync(stage!, asked, cancellationToken).ConfigureAwait(false);
                var leads = await ExplainedAsync(reader, listed, stage, asOf, cancellationToken).ConfigureAwait(false);
                if (leads.Count >= top || listed.Count < asked || asked > int.MaxValue / 2)
                {
                    return JsonArray(leads.Take(top).Select(LeadResultJson.ToJson));
                }

                asked *= 2;
            }
        }
        catch (ArgumentException ex) when (ex is not ArgumentOutOfRangeException)
        {
            return Error(StatusCodes.Status400BadRequest, FirstLine(ex.Message));
        }
    }

    /// <summary>Each of <paramref name="listed"/>, in order, evaluated and explained at <paramref name="asOf"/>; those not in <paramref name="stage"/> then (when given) left out.</summary>
    private static async Task<List<LeadResult>> ExplainedAsync(
        ILeadScoreReader reader, IReadOnlyList<LeadResult> listed, string? stage, DateTimeOffset asOf, CancellationToken cancellationToken)
    {
        var leads = new List<LeadResult>(listed.Count);
        foreach (var candidate in listed)
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

        return leads;
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

    /// <summary>The instant of <c>?asOf=</c>, or now; a response when <c>asOf</c> is not an instant.</summary>
    internal static IResult? RequestedAsOf(HttpContext context, TimeProvider time, out DateTimeOffset asOf)
    {
        asOf = time.GetUtcNow();
        if (context.Request.Query.TryGetValue("asOf", out var values) && (values.Count != 1 || !TryParseAsOf(values[0], out asOf)))
        {
            return Error(StatusCodes.Status400BadRequest,
                $"asOf '{values}' is not an ISO 8601 instant with an offset or Z, e.g. 2026-11-30T00:00:00Z");
        }

        return null;
    }

    /// <summary>Joins JSON objects into a JSON array, as the response of a list.</summary>
    internal static IResult JsonArray(IEnumerable<string> objects) =>
        Results.Text("[" + string.Join(',', objects) + "]", JsonContentType, Encoding.UTF8);

    /// <summary>One lead's JSON object as the response.</summary>
    internal static IResult JsonObject(string json) => Results.Text(json, JsonContentType, Encoding.UTF8);

    internal static string FirstLine(string message)
    {
        int cut = message.IndexOf(" (Parameter", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    internal static IResult Error(int status, string message) => Results.Json(new { error = message }, statusCode: status);
}

/// <summary>The filters of <c>GET /leads</c>: <c>stage</c> and/or <c>score</c>, and <c>top</c>.</summary>
/// <param name="Stage">Only leads in this stage; null for any.</param>
/// <param name="Score">Order by this score, highest first; null for the model's first score.</param>
/// <param name="Top">How many leads at most.</param>
internal sealed record ListQuery(string? Stage, string? Score, int Top)
{
    /// <summary>Reads the filters; a response when they are missing or invalid.</summary>
    public static IResult? Parse(IQueryCollection query, int maxTop, out ListQuery list)
    {
        string? stage = Single(query, "stage"), score = Single(query, "score"), topText = Single(query, "top");
        list = new ListQuery(stage, score, LeadEndpoints.DefaultTop);
        if (stage is null && score is null)
        {
            return LeadEndpoints.Error(StatusCodes.Status400BadRequest, "give ?stage=NAME (leads in that stage) and/or ?score=NAME (leads by that score), with ?top=N");
        }

        if (topText is not null)
        {
            if (!int.TryParse(topText, NumberStyles.None, CultureInfo.InvariantCulture, out int top) || top < 1 || top > maxTop)
            {
                return LeadEndpoints.Error(StatusCodes.Status400BadRequest, $"top '{topText}' must be a whole number from 1 to {maxTop}");
            }

            list = list with { Top = top };
        }

        return null;
    }

    private static string? Single(IQueryCollection query, string key) =>
        query.TryGetValue(key, out var v) && v.Count > 0 ? v[^1] : null;
}
