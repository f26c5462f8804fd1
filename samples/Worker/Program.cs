// A generic host that scores a folder of JSON Lines messages into SQLite and logs stage changes.
//
//   dotnet run --project samples/Worker -- --Worker:Folder ./inbox --Worker:Database leads.db
//
// Optional settings (command line or appsettings.json):
//   LeadScoring:ModelPath    the model (default: samples/data/model.json of this repository)
//   LeadScoring:Workers      scoring workers (default: processor count)
//   Worker:Follow            keep watching the folder (default true); false stops at the end
//   Worker:ExitWhenDrained   stop the host once every file was read and committed (with Follow=false)
//   Worker:HandlerLog        append every stage change's idempotency key to this file (at least once)
//   Worker:Output, Worker:AsOf   on exit, write every lead as `leadscore score --explain` prints it
using LeadScoring.Hosting;
using LeadScoring.Samples.Worker;

var builder = Host.CreateApplicationBuilder(args);
var settings = builder.Configuration.GetSection("Worker").Get<WorkerSettings>() ?? new WorkerSettings();
builder.Services.AddSingleton(settings);
string modelPath = builder.Configuration["LeadScoring:ModelPath"] ?? WorkerSettings.FindSampleModel();

builder.Services
    .AddLeadScoring(builder.Configuration.GetSection("LeadScoring"))
    .UseSqlite($"Data Source={settings.Database}")
    .AddJsonLinesFolder(settings.Folder, f => f.Follow = settings.Follow)
    .AddStageChangedHandler<StageChangeLogger>();
builder.Services.PostConfigure<LeadScoringOptions>(o => o.ModelPath ??= modelPath);
builder.Services.AddHostedService<DrainWatcher>();

await builder.Build().RunAsync();
