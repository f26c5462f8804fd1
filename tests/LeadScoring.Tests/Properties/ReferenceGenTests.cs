using System.Text.Json;
using CsCheck;

namespace LeadScoring.Tests.Properties;

/// <summary>The message sets of the reference properties do contain the hard cases they are meant to exercise.</summary>
public class ReferenceGenTests
{
    private sealed record Line(string? Id, string? Timestamp, string? Type, string? UserId, string? AnonymousId, string? PreviousId, string? GroupId, string Text);

    private static Line Read(string text)
    {
        using var doc = JsonDocument.Parse(text);
        string? S(string name) => doc.RootElement.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        return new Line(S("messageId"), S("timestamp"), S("type"), S("userId"), S("anonymousId"), S("previousId"), S("groupId"), text);
    }

    [Fact]
    public void Generated_message_sets_contain_retries_late_messages_merges_and_changing_accounts()
    {
        int sets = 0, exactRetries = 0, shiftedRetries = 0, late = 0, merges = 0, accountChanges = 0, afterAsOf = 0;
        ReferenceGen.Messages.Sample(x =>
        {
            var lines = x.Lines.Select(Read).ToList();
            var byId = lines.GroupBy(l => l.Id).Where(g => g.Count() > 1).ToList();
            sets++;
            exactRetries += byId.Any(g => g.Select(l => l.Text).Distinct().Count() < g.Count()) ? 1 : 0;
            shiftedRetries += byId.Any(g => g.Select(l => l.Timestamp).Distinct().Count() > 1) ? 1 : 0;
            late += lines.Zip(lines.Skip(1)).Any(p => string.CompareOrdinal(p.First.Timestamp, p.Second.Timestamp) > 0) ? 1 : 0;
            merges += lines.Any(l => (l.Type == "identify" && l.UserId is { } u && l.AnonymousId is { } a && u[1..] != a[1..])
                || (l.Type == "alias" && l.PreviousId!.StartsWith('u'))) ? 1 : 0;
            accountChanges += lines.Where(l => l.Type == "group").GroupBy(l => l.GroupId).Any(g => g.Select(l => l.Text[l.Text.IndexOf("\"traits\"", StringComparison.Ordinal)..]).Distinct().Count() > 1) ? 1 : 0;
            afterAsOf += lines.Any(l => l.Timestamp is { } t && DateTimeOffset.TryParse(t, System.Globalization.CultureInfo.InvariantCulture, out var ts) && ts > x.AsOf) ? 1 : 0;
        }, iter: 300, threads: 1);

        // Each hard case in at least a tenth of the sets (typical shares are far higher).
        exactRetries.Should().BeGreaterThan(sets / 10);
        shiftedRetries.Should().BeGreaterThan(sets / 10);
        late.Should().BeGreaterThan(sets / 10);
        merges.Should().BeGreaterThan(sets / 10);
        accountChanges.Should().BeGreaterThan(sets / 10);
        afterAsOf.Should().BeGreaterThan(sets / 10);
    }
}
