using LeadScoring.Hosting;
using LeadScoring.Messages;
using LeadScoring.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;

namespace LeadScoring.Hosting.Tests;

/// <summary>
/// Change tracking takes a changed lead's latest message id from the batch when the batch holds every message at the
/// lead's latest instant, and from the engine otherwise (<c>ScoringPipeline.LatestIdFromBatch</c>). The id a score
/// notification carries must be the lead's latest message in spec 2.3 order (timestamp, then message id, ordinal)
/// either way: worked out here from the messages themselves.
/// </summary>
public class LatestMessageIdTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 2, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task AScoreNotification_CarriesTheLeadsLatestMessageId_WhereverItsMessagesAtThatInstantArrived()
    {
        var first = new List<LeadMessage>
        {
            // u-1's latest instant gets a message now with a greater id than the one that comes in the next batch.
            LeadMessage.Page("m-9", "u-1", T, Url("/docs")),
            LeadMessage.Page("a-1", "u-2", T.AddHours(-1), Url("/docs")),
        };
        var second = new List<LeadMessage>
        {
            LeadMessage.Track("m-1", "u-1", "Demo Requested", T),
            // u-2: three messages at its new latest instant; the greatest id is an account message's.
            LeadMessage.Track("a-3", "u-2", "Demo Requested", T),
            LeadMessage.Group("a-5", "u-2", "acme", T, null),
            LeadMessage.Page("a-4", "u-2", T, Url("/pricing")),
            // u-3: new, two messages at one instant.
            LeadMessage.Page("c-7", "u-3", T, Url("/pricing")),
            LeadMessage.Track("c-2", "u-3", "Demo Requested", T),
        };

        string model = Path.Combine(Path.GetTempPath(), $"leadscoring-latest-id-{Environment.ProcessId}-{Guid.NewGuid():N}.json");
        File.WriteAllText(model, ScoreHistoryRuns.FlatModelJson);
        var scores = new RecordingScoreHandler();
        try
        {
            using var host = HostKit.Build(o =>
            {
                o.ModelPath = model;
                o.Workers = 2;
                o.BatchDelay = TimeSpan.FromMilliseconds(50);
            }, b => b.Services.AddSingleton(scores).AddSingleton<IScoreChangedHandler>(sp => sp.GetRequiredService<RecordingScoreHandler>()));
            await host.StartAsync();
            var writer = host.Services.GetRequiredService<ILeadMessageWriter>();
            foreach (var m in first)
            {
                await writer.WriteAsync(m);
            }

            await HostKit.WaitForCommittedAsync(host.Services, first.Count);
            foreach (var m in second)
            {
                await writer.WriteAsync(m);
            }

            await HostKit.WaitForCommittedAsync(host.Services, first.Count + second.Count);
            await HostKit.WaitForDrainedAsync(host.Services);
            await host.StopAsync();
        }
        finally
        {
            File.Delete(model);
        }

        var all = first.Concat(second).ToList();
        foreach (string lead in new[] { "u-1", "u-2", "u-3" })
        {
            string latest = all.Where(m => m.UserId == lead)
                .OrderBy(m => m.TimestampTicks).ThenBy(m => m.MessageId, StringComparer.Ordinal).Last().MessageId;
            scores.Calls.Where(c => c.LeadId == lead).Should().NotBeEmpty($"{lead}'s score changed")
                .And.Subject.Last().MessageId.Should().Be(latest, $"{lead}'s latest message after the second batch");
        }

        latestOf("u-1").Should().Be("m-9", "the first batch's message, at the same instant as the second's, has the greater id");
        latestOf("u-2").Should().Be("a-5");
        latestOf("u-3").Should().Be("c-7");

        string latestOf(string lead) => scores.Calls.Last(c => c.LeadId == lead).MessageId!;
    }

    private static Dictionary<string, object?> Url(string path) => new() { ["path"] = path, ["url"] = "https://acme.example" + path };
}
