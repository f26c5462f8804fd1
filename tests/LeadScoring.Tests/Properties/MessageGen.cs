using CsCheck;
using LeadScoring.Messages;

namespace LeadScoring.Tests.Properties;

/// <summary>
/// Generates message histories for the sample model (samples/data/model.json): a few leads that browse
/// anonymously, identify (linking their anonymous id), alias, join accounts, and send every event the model
/// reads, over 20 days, with retries (same messageId) and ties (same timestamp).
/// </summary>
internal static class MessageGen
{
    public static readonly DateTimeOffset Start = new(2026, 10, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>After every generated message.</summary>
    public static readonly DateTimeOffset AsOf = Start.AddDays(21);

    private static readonly string[] Titles = ["VP of Sales", "Director of IT", "Software Engineer", "Student", "Chief Marketing Officer", "Analyst"];
    private static readonly string[] Paths = ["/pricing", "/pricing/enterprise", "/docs/api", "/guides/start", "/careers", "/blog/x", "/"];
    private static readonly string[] Events = ["Email Opened", "Email Clicked", "Webinar Attended", "Content Downloaded", "Unsubscribed", "Demo Requested", "Feature Used", "Form Submitted", "Quote Requested", "Signed Up", "Sales Accepted", "Sales Rejected", "Deal Won"];

    /// <summary>One message: its shape is drawn as numbers, then built deterministically.</summary>
    public static readonly Gen<LeadMessage> Message =
        Gen.Select(Gen.Int[0, 4], Gen.Int[0, 20 * 24 * 4], Gen.Int[0, 15], Gen.Int[0, 12], Gen.Int[0, 399])
            .Select(x => Build(x.Item1, x.Item2, x.Item3, x.Item4, x.Item5));

    /// <summary>A history of messages, some of them retried (same id and content, maybe a later timestamp).</summary>
    public static readonly Gen<List<LeadMessage>> History =
        Gen.Select(Message.Array[1, 60], Gen.Int[0, 5].Array[0, 8], Gen.Int[0, 3])
            .Select(x =>
            {
                var list = x.Item1.ToList();
                foreach (int i in x.Item2)
                {
                    var m = list[i % list.Count];
                    list.Add(Retry(m, TimeSpan.FromSeconds(x.Item3 * 7)));
                }

                return list;
            });

    private static LeadMessage Build(int lead, int quarterHours, int kind, int variant, int id)
    {
        var ts = Start.AddMinutes(quarterHours * 15);
        string user = $"u-{lead}", anon = $"a-{lead}";
        string messageId = $"m-{id:D3}";
        bool anonymous = variant % 3 == 0;
        string? userId = anonymous ? null : user;
        string? anonymousId = anonymous || variant % 4 == 1 ? anon : null;
        string json = kind switch
        {
            0 => Json("identify", messageId, userId ?? user, anonymousId, ts,
                $"\"traits\":{{\"title\":\"{Titles[variant % Titles.Length]}\",\"employees\":{(variant * 977) % 9000},\"email\":\"x{lead}@{(variant % 2 == 0 ? "gmail.com" : "corp.example")}\",\"phone\":{(variant % 3 == 0 ? "null" : "\"+1 415 555 0100\"")},\"country\":\"{(variant % 2 == 0 ? "US" : "DE")}\"}}"),
            1 => Json("group", messageId, userId ?? user, null, ts,
                $"\"groupId\":\"acct-{variant % 3}\",\"traits\":{{\"industry\":\"{(variant % 2 == 0 ? "software" : "retail")}\"}}"),
            2 => Json("alias", messageId, user, null, ts, $"\"previousId\":\"{anon}\""),
            <= 7 => Json("page", messageId, userId, anonymousId ?? (userId is null ? anon : null), ts,
                $"\"properties\":{{\"path\":\"{Paths[variant % Paths.Length]}\",\"title\":\"{(variant % 5 == 0 ? "A Tutorial" : "Page")}\"}}" +
                (variant % 4 == 0 ? ",\"context\":{\"campaign\":{\"source\":\"google\"}}" : "")),
            _ => Json("track", messageId, userId, anonymousId ?? (userId is null ? anon : null), ts,
                $"\"event\":\"{Events[(variant + kind) % Events.Length]}\",\"properties\":{{\"emailId\":\"e{variant % 4}\",\"campaign\":\"{(variant % 2 == 0 ? "product" : "newsletter")}\",\"seats\":{variant * 6},\"feature\":\"{(variant % 3 == 0 ? "sandbox-1" : "reports")}\",\"form\":\"{(variant % 2 == 0 ? "contact-us" : "newsletter")}\",\"format\":\"pdf\"}}"),
        };
        return MessageParser.Parse(json).Message ?? throw new InvalidOperationException("generator produced a bad message: " + json);
    }

    private static string Json(string type, string messageId, string? userId, string? anonymousId, DateTimeOffset ts, string rest) =>
        $"{{\"type\":\"{type}\",\"messageId\":\"{messageId}\"" +
        (userId is null ? "" : $",\"userId\":\"{userId}\"") +
        (anonymousId is null ? "" : $",\"anonymousId\":\"{anonymousId}\"") +
        $",\"timestamp\":\"{ts.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}\",{rest}}}";

    private static LeadMessage Retry(LeadMessage m, TimeSpan later) =>
        new(m.Type, m.MessageId, m.UserId, m.AnonymousId, m.TimestampTicks + later.Ticks, m.Event, m.Name, m.GroupId, m.PreviousId, m.Properties, m.Context, m.Traits);
}
