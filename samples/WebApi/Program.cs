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

    Console.Error.WriteLine("To listen there, set WebApi:AllowRemoteBinding=true (e.g. --WebApi:AllowRemoteBinding true) with both WebApi:WriteKey and WebApi:ReadKey.");
    return 2;
}

// Beyond loopback both keys are required: the write key for POST /v1/*, the read key for GET /leads*.
if (refused.Count > 0 && (string.IsNullOrEmpty(web.WriteKey) || string.IsNullOrEmpty(web.ReadKey)))
{
    Console.Error.WriteLine($"error: refusing to listen on '{refused[0]}' without both keys: set WebApi:WriteKey (POST /v1/*) and WebApi:ReadKey (GET /leads*).");
    return 2;
}

if (!string.IsNullOrEmpty(web.WriteKey) && web.WriteKey == web.ReadKey)
{
    Console.Error.WriteLine("error: WebApi:ReadKey must differ from WebApi:WriteKey: a sender of messages need not read scores.");
    return 2;
}

builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = web.MaxRequestBytes);
builder.Services.AddRequestDecompression();
builder.Services.Configure<WebApiOptions>(builder.Configuration.GetSection("WebApi"));
builder.Services.AddSingleton<SegmentIngestion>();

// The scorer: in this process (the LeadScoring.Hosting pipeline on the store of WebApi:Store), or a cluster of
// Orleans silos (WebApi:Store=cluster: this app is their client; ClusterMode.cs).
bool cluster = ClusterMode.IsSelected(web);
if ((cluster ? await ClusterMode.ConfigureAsync(builder, web) : ConfigurePipeline(builder, web)) is { } configurationError)
{
    Console.Error.WriteLine("error: " + configurationError);
    return 2;
}

var app = builder.Build();
// No stack trace in any response, in any environment (Development included): an unexpected failure is a 500 with
// a one-line JSON reason; the exception itself goes to the log only.
app.UseExceptionHandler(error => error.Run(context =>
{
    context.Response.StatusCode = StatusCodes.Status500InternalServerError;
    return context.Response.WriteAsJsonAsync(new { success = false, message = "internal error; the server's log has the details" });
}));
app.UseStatusCodePages(context =>
{
    // A 4xx that the framework answers itself (a bad request line, a body too large...) still gets a reason.
    var response = context.HttpContext.Response;
    return response.HasStarted || response.ContentLength > 0 || response.ContentType is not null
        ? Task.CompletedTask
        : response.WriteAsJsonAsync(new { success = false, message = $"HTTP {response.StatusCode}" });
});
app.UseRequestDecompression();
app.MapSegmentEndpoints();
if (cluster)
{
    app.MapClusterLeadEndpoints();
}
else
{
    app.MapLeadEndpoints();
}

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

// The in-process pipeline: options from the LeadScoring section (ModelPath, Workers, ReorderHorizon...), the store of
// WebApi:Store (memory, the default; sqlite or postgres with WebApi:Database), and a handler that logs stage moves.
static string? ConfigurePipeline(WebApplicationBuilder builder, WebApiOptions web)
{
    var scoring = builder.Services.AddLeadScoring(builder.Configuration.GetSection("LeadScoring"))
        .AddStageChangedHandler<StageChangeLogger>();
    switch (web.Store.ToLowerInvariant())
    {
        case "memory":
            break;
        case "sqlite" when !string.IsNullOrWhiteSpace(web.Database):
            scoring.UseSqlite($"Data Source={web.Database}");
            break;
        case "postgres" when !string.IsNullOrWhiteSpace(web.Database):
            scoring.UsePostgreSql(web.Database);
            break;
        case "sqlite" or "postgres":
            return $"WebApi:Store={web.Store} needs WebApi:Database (a file path for sqlite, an Npgsql connection string for postgres).";
        default:
            return $"unknown store '{web.Store}' (WebApi:Store): use memory, sqlite, postgres or cluster.";
    }

    var contentRoot = builder.Environment.ContentRootPath;
    builder.Services.PostConfigure<LeadScoringOptions>(o => SampleModel.Resolve(o, contentRoot, AppContext.BaseDirectory));
    builder.Services.AddSingleton<IMessageSink, PipelineMessageSink>();
    return null;
}
