// The web front of samples/Cluster: an Orleans client of the silos, in front of them.
//   POST /messages            body: Segment JSON lines -> {"accepted":..,"ignored":..,"rejected":[{"location","reason"}]}
//   GET  /leads/{id}?asOf=... the lead, explained (the contract's JSON), 404 when unknown
//   GET  /leads?asOf=...      every lead, JSON lines ordered by lead id (what `leadscore score` prints)
// Configuration: --postgres "..." (ADO.NET clustering: the silos' gateways are read from PostgreSQL) or
// --gateways 30000,30001 (localhost clustering).
using System.Globalization;
using System.Net;
using LeadScoring.Orleans;

var builder = WebApplication.CreateBuilder(args);
var config = builder.Configuration;
builder.UseOrleansClient(client =>
{
    if (config["postgres"] is { } postgres && config["clustering"] != "localhost")
    {
        client.UseLeadScoringPostgreSql(postgres);
    }
    else
    {
        client.UseStaticClustering([.. (config["gateways"] ?? "30000").Split(',').Select(p => new IPEndPoint(IPAddress.Loopback, int.Parse(p, CultureInfo.InvariantCulture)))]);
    }
});
builder.Services.AddLeadScoringClient();
var app = builder.Build();

app.MapPost("/messages", async (HttpRequest request, ILeadScoringClient scoring, CancellationToken ct) =>
{
    using var body = new MemoryStream();
    await request.Body.CopyToAsync(body, ct);
    var result = await scoring.IngestJsonLinesAsync(body.ToArray(), "http", ct);
    return Results.Ok(new { result.Accepted, result.Ignored, rejected = result.Rejected.Select(r => new { r.Location, r.Reason }) });
});

app.MapGet("/leads/{id}", async (string id, string? asOf, ILeadScoringClient scoring, CancellationToken ct) =>
    await scoring.GetLeadJsonAsync(id, AsOf(asOf), explain: true, ct) is { } json ? Results.Text(json, "application/json") : Results.NotFound());

app.MapGet("/leads", async (string? asOf, bool? explain, ILeadScoringClient scoring, CancellationToken ct) =>
    Results.Text(string.Concat((await scoring.EvaluateAllAsync(AsOf(asOf), explain ?? false, ct)).Select(l => l + "\n")), "application/x-ndjson"));

app.Run();

static DateTimeOffset AsOf(string? text) =>
    text is null ? TimeProvider.System.GetUtcNow() : DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
