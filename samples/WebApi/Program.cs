using LeadScoring.Hosting;
using LeadScoring.Samples.WebApi;
using Microsoft.Extensions.Options;

// A Segment-compatible HTTP destination that scores leads: POST /v1/batch (and /v1/track, /v1/identify...)
// feed the LeadScoring.Hosting pipeline; GET /leads/{id} and GET /leads read the scores. See README.md.
var builder = WebApplication.CreateBuilder(args);
var web = builder.Configuration.GetSection("WebApi").Get<WebApiOptions>() ?? new WebApiOptions();

// Loopback only, unless --urls (or ASPNETCORE_URLS, Kestrel:Endpoints) names other addresses and
// WebApi:AllowRemoteBinding allows them.
var urls = builder.Configuration[WebHostDefaults.ServerUrlsKey];
if (string.IsNullOrWhiteSpace(urls))
{
    urls = $"http://127.0.0.1:{web.Port}";
    builder.WebHost.UseUrls(urls);
}

var addresses = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
    .Concat(builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(e => e["Url"]).OfType<string>());
var refused = LoopbackGuard.NonLoopback(addresses);
if (refused.Count > 0 && !web.AllowRemoteBinding)
{
    foreach (var address in refused)
    {
        Console.Error.WriteLine($"error: refusing to listen on '{address}': not a loopback address.");
    }

    Console.Error.WriteLine("This API has no authentication beyond an optional write key. To listen there anyway, set WebApi:AllowRemoteBinding=true (e.g. --WebApi:AllowRemoteBinding true).");
    return 2;
}

builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = web.MaxRequestBytes);
builder.Services.AddRequestDecompression();
builder.Services.Configure<WebApiOptions>(builder.Configuration.GetSection("WebApi"));
builder.Services.AddSingleton<SegmentIngestion>();

// The scorer: options from the LeadScoring section (ModelPath, Workers, ReorderHorizon...), the in-memory store
// (the default), and a handler that logs stage moves.
builder.Services.AddLeadScoring(builder.Configuration.GetSection("LeadScoring"))
    .AddStageChangedHandler<StageChangeLogger>();
var contentRoot = builder.Environment.ContentRootPath;
builder.Services.PostConfigure<LeadScoringOptions>(o => SampleModel.Resolve(o, contentRoot, AppContext.BaseDirectory));

var app = builder.Build();
app.UseRequestDecompression();
app.MapSegmentEndpoints();
app.MapLeadEndpoints();

try
{
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException ex)
{
    foreach (var failure in ex.Failures)
    {
        Console.Error.WriteLine("error: " + failure);
    }

    return 2;
}
