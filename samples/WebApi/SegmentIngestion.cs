using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LeadScoring.Messages;
using Microsoft.Extensions.Options;

namespace LeadScoring.Samples.WebApi;

/// <summary>
/// The Segment HTTP tracking API: <c>POST /v1/batch</c> with <c>{"batch": [...]}</c>, and one message each on
/// <c>/v1/track</c>, <c>/v1/identify</c>, <c>/v1/page</c>, <c>/v1/screen</c>, <c>/v1/group</c>, <c>/v1/alias</c>.
/// </summary>
public static class SegmentEndpoints
{
    /// <summary>The single-message endpoints, by message type.</summary>
    public static readonly IReadOnlyList<string> SingleMessageTypes = ["track", "identify", "page", "screen", "group", "alias"];

    /// <summary>Maps the <c>/v1/*</c> endpoints.</summary>
    public static IEndpointRouteBuilder MapSegmentEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/batch", (HttpContext context, SegmentIngestion ingestion) => ingestion.HandleAsync(context, endpointType: null));
        foreach (var type in SingleMessageTypes)
        {
            app.MapPost("/v1/" + type, (HttpContext context, SegmentIngestion ingestion) => ingestion.HandleAsync(context, type));
        }

        return app;
    }
}

/// <summary>
/// Parses each message of a request with <see cref="MessageParser"/> and hands the valid ones, as one batch, to the
/// <see cref="IMessageSink"/>: the in-process pipeline, or the cluster (<c>WebApi:Store=cluster</c>). Answers <c>200 {"success": true}</c> as Segment does, or <c>400</c> listing
/// every rejected message with its index and reason; valid messages of the same request are queued all the same.
/// </summary>
public sealed partial class SegmentIngestion(IMessageSink sink, IOptions<WebApiOptions> options, ILogger<SegmentIngestion> logger)
{
    // A message may nest 64 deep (MessageParser's limit); {"batch": [...]} adds two levels.
    private static readonly JsonDocumentOptions BodyOptions = new() { MaxDepth = 66 };

    private readonly WebApiOptions _options = options.Value;

    /// <summary>A rejected message: its index in the batch (0 for a single-message endpoint) and why.</summary>
    public sealed record Rejection(int Index, string Reason);

    /// <summary>Handles one request; <paramref name="endpointType"/> is null for <c>/v1/batch</c>.</summary>
    public async Task<IResult> HandleAsync(HttpContext context, string? endpointType)
    {
        ArgumentNullException.ThrowIfNull(context);
        var cancellationToken = context.RequestAborted;
        string path = context.Request.Path;

        // A wrong key in the header is refused before the body is read.
        var headerKey = BasicUser(context.Request.Headers.Authorization.ToString());
        if (_options.WriteKey is { Length: > 0 } && headerKey is not null && !KeyMatches(headerKey))
        {
            return Unauthorized();
        }

        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, BodyOptions, cancellationToken).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return Failure(StatusCodes.Status400BadRequest, "the body is not valid JSON: " + ShortJsonMessage(ex));
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return Failure(StatusCodes.Status413PayloadTooLarge, $"the body is larger than {_options.MaxRequestBytes} bytes (WebApi:MaxRequestBytes)");
        }
        catch (BadHttpRequestException ex)
        {
            return Failure(ex.StatusCode is >= 400 and < 500 ? ex.StatusCode : StatusCodes.Status400BadRequest, "the body could not be read: " + ex.Message);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            // A corrupt gzip, deflate or br body: each decoder says so its own way (br: an IOException or an InvalidOperationException).
            return Failure(StatusCodes.Status400BadRequest, "the body could not be decompressed: " + ex.Message);
        }

        using (document)
        {
            var root = document.RootElement;
            if (_options.WriteKey is { Length: > 0 } && headerKey is null && !KeyMatches(BodyWriteKey(root)))
            {
                return Unauthorized();
            }

            var rejected = new List<Rejection>();
            var accepted = new List<LeadMessage>();
            if (Collect(root, endpointType, accepted, rejected, out int total) is { } failure)
            {
                return failure;
            }

            if (accepted.Count > 0)
            {
                await sink.WriteAsync(accepted, cancellationToken).ConfigureAwait(false);
            }

            if (rejected.Count == 0)
            {
                return Results.Json(new { success = true });
            }

            foreach (var r in rejected)
            {
                LogRejected(logger, r.Index, path, r.Reason);
            }

            string summary = endpointType is null
                ? $"{rejected.Count} of {total} message(s) rejected, {total - rejected.Count} accepted"
                : "the message was rejected";
            return Results.Json(new { success = false, message = summary, rejected }, statusCode: StatusCodes.Status400BadRequest);
        }
    }

    /// <summary>Parses the request's messages; returns a response when the request as a whole is refused.</summary>
    private IResult? Collect(JsonElement root, string? endpointType, List<LeadMessage> accepted, List<Rejection> rejected, out int total)
    {
        total = 1;
        if (endpointType is not null)
        {
            if (SingleMessage(root, endpointType, out var raw, out var error))
            {
                Parse(0, raw, accepted, rejected);
            }
            else
            {
                rejected.Add(new Rejection(0, error!));
            }

            return null;
        }

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("batch", out var batch) || batch.ValueKind != JsonValueKind.Array)
        {
            return Failure(StatusCodes.Status400BadRequest, "expected a JSON object {\"batch\": [message, ...]}");
        }

        int count = total = batch.GetArrayLength();
        if (count > _options.MaxBatchMessages)
        {
            return Failure(StatusCodes.Status400BadRequest,
                $"the batch has {count} messages; at most {_options.MaxBatchMessages} are accepted in one request (WebApi:MaxBatchMessages); nothing was accepted");
        }

        int index = 0;
        foreach (var item in batch.EnumerateArray())
        {
            Parse(index++, JsonMarshal.GetRawUtf8Value(item), accepted, rejected);
        }

        return null;
    }

    private void Parse(int index, ReadOnlySpan<byte> raw, List<LeadMessage> accepted, List<Rejection> rejected)
    {
        if (raw.Length > _options.MaxMessageBytes)
        {
            rejected.Add(new Rejection(index, $"the message is {raw.Length} bytes; at most {_options.MaxMessageBytes} are accepted (WebApi:MaxMessageBytes)"));
            return;
        }

        var result = MessageParser.Parse(raw);
        if (result.Message is { } message)
        {
            accepted.Add(message);
        }
        else if (result.IsRejected)
        {
            rejected.Add(new Rejection(index, result.Error!));
        }

        // A valid message of a type the scorer ignores (screen...) is accepted and not queued.
    }

    /// <summary>
    /// The message of a single-message endpoint. As in Segment's HTTP API the path gives the type: a body without
    /// <c>type</c> gets <c>"type": "&lt;endpoint&gt;"</c> inserted first (the rest of its text is kept as sent); a body
    /// whose <c>type</c> names another type is rejected.
    /// </summary>
    private static bool SingleMessage(JsonElement root, string endpointType, out ReadOnlySpan<byte> raw, out string? error)
    {
        raw = JsonMarshal.GetRawUtf8Value(root);
        error = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            // MessageParser gives the reason.
            return true;
        }

        if (root.TryGetProperty("type", out var type))
        {
            if (type.ValueKind == JsonValueKind.String && !string.Equals(type.GetString(), endpointType, StringComparison.OrdinalIgnoreCase))
            {
                error = $"'type' is '{type.GetString()}' but this endpoint is /v1/{endpointType}";
                return false;
            }

            return true;
        }

        bool empty = true;
        foreach (var _ in root.EnumerateObject())
        {
            empty = false;
            break;
        }

        var prefix = Encoding.UTF8.GetBytes($"{{\"type\":\"{endpointType}\"{(empty ? "}" : ",")}");
        var body = empty ? [] : raw[1..];
        var text = new byte[prefix.Length + body.Length];
        prefix.CopyTo(text, 0);
        body.CopyTo(text.AsSpan(prefix.Length));
        raw = text;
        return true;
    }

    private bool KeyMatches(string? given) => ApiKeys.Matches(given, _options.WriteKey);

    private static string? BasicUser(string header) => ApiKeys.BasicUser(header);

    private static string? BodyWriteKey(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("writeKey", out var key) && key.ValueKind == JsonValueKind.String ? key.GetString() : null;

    private static IResult Unauthorized()
    {
        return Results.Json(
            new { success = false, message = "missing or wrong write key: send it as the HTTP Basic user name (Segment's convention) or as \"writeKey\" in the body" },
            statusCode: StatusCodes.Status401Unauthorized);
    }

    private static IResult Failure(int status, string message) => Results.Json(new { success = false, message }, statusCode: status);

    private static string ShortJsonMessage(JsonException ex)
    {
        string m = ex.Message;
        int cut = m.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? m[..cut] : m).TrimEnd('.', ' ');
    }

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Rejected message {Index} of a request to {Path}: {Reason}")]
    private static partial void LogRejected(ILogger logger, int index, string path, string reason);
}
