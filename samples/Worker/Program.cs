// A generic host that scores a folder of JSON Lines messages into SQLite or PostgreSQL and logs stage changes.
//
//   dotnet run --project samples/Worker -- --Worker:Folder ./inbox --Worker:Database leads.db
//   dotnet run --project samples/Worker -- --Worker:Folder ./inbox --Worker:Store postgres \
//       --Worker:Database "Host=127.0.0.1;Port=5432;Username=leads;Password=...;Database=leads"
//
// Optional settings (command line or appsettings.json):
//   LeadScoring:ModelPath    the model (default: samples/data/model.json of this repository)
//   LeadScoring:Workers      scoring workers (default: processor count)
//   Worker:Store             sqlite (default: Worker:Database is a file) or postgres (an Npgsql connection string)
//   Worker:Lease             with postgres: a lease scope; hosts sharing it take turns (one scores, the others stand by)
//   Worker:LeaseDuration     how long the lease lasts unrenewed (default 00:00:10): the longest a takeover waits
//   Worker:Follow            keep watching the folder (default true); false stops at the end
//   Worker:ExitWhenDrained   stop the host once every file was read and committed (with Follow=false)
//   Worker:HandlerLog        append every stage change's idempotency key to this file (at least once)
//   Worker:Output, Worker:AsOf   on exit, write every lead as `leadscore score --explain` prints it
//
// Exit codes: 0 stopped normally; 1 the pipeline could not start or could not go on (a read-only, missing or damaged
// database...), or the output could not be written; 2 a setting is wrong (a missing inbox or database folder).
// Every failure is one line on standard error, never a stack trace.
using LeadScoring.Hosting;
using LeadScoring.Samples.Worker;

var builder = Host.CreateApplicationBuilder(args);
var settings = builder.Configuration.GetSection("Worker").Get<WorkerSettings>() ?? new WorkerSettings();
if (settings.Check() is { } problem)
{
    Console.Error.WriteLine("worker: " + problem);
    return 2;
}

builder.Services.AddSingleton(settings);
string modelPath = builder.Configuration["LeadScoring:ModelPath"] ?? WorkerSettings.FindSampleModel();

var scoring = builder.Services
    .AddLeadScoring(builder.Configuration.GetSection("LeadScoring"))
    .AddJsonLinesFolder(settings.Folder, f => f.Follow = settings.Follow)
    .AddStageChangedHandler<StageChangeLogger>();
_ = settings.IsPostgres
    ? scoring.UsePostgreSql(o => (o.ConnectionString, o.Lease, o.LeaseDuration) = (settings.Database, settings.Lease, settings.LeaseDuration))
    : scoring.UseSqlite($"Data Source={settings.Database}");
builder.Services.PostConfigure<LeadScoringOptions>(o => o.ModelPath ??= modelPath);
builder.Services.AddHostedService<DrainWatcher>();

LeadScoringStatus? status = null;
try
{
    using var host = builder.Build();
    status = host.Services.GetRequiredService<LeadScoringStatus>();
    await host.RunAsync();
}
catch (Exception ex)
{
    Console.Error.WriteLine("worker: " + (status?.Fault ?? WorkerSettings.OneLine(ex)));
    return 1;
}

if (status.Fault is { } stopped)
{
    Console.Error.WriteLine("worker: " + stopped);
    return 1;
}

return Environment.ExitCode;
