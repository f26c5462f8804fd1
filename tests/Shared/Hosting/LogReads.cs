using LeadScoring.Tests.Shared;
using System.Runtime.CompilerServices;
using LeadScoring.Hosting;
using LeadScoring.Messages;

namespace LeadScoring.Tests.Shared;

/// <summary>The message log read as tests compare it: every logged message in commit order, or only its group messages.</summary>
public static class LogReads
{
    public static async IAsyncEnumerable<LeadMessage> LoggedMessagesAsync(this IMessageLog log, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var (_, messages) in log.ReadLogAsync(0, cancellationToken))
        {
            foreach (var m in messages)
            {
                yield return m;
            }
        }
    }

    public static async IAsyncEnumerable<LeadMessage> LoggedGroupMessagesAsync(this IMessageLog log, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var m in log.LoggedMessagesAsync(cancellationToken))
        {
            if (m.Type == MessageType.Group)
            {
                yield return m;
            }
        }
    }
}
