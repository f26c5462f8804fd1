using System.Collections.Immutable;
using System.Text;

namespace LeadScoring.Model;

/// <summary>
/// Size limits applied while a model document is read, so that a hostile file cannot exhaust memory or time.
/// The defaults fit any hand-written model with room to spare.
/// </summary>
public sealed record ModelLoadOptions
{
    /// <summary>The default limits.</summary>
    public static ModelLoadOptions Default { get; } = new();

    /// <summary>Largest document accepted, in bytes. Default 4 MiB.</summary>
    public int MaxDocumentBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Deepest nesting of JSON objects and arrays. Default 64.</summary>
    public int MaxDepth { get; init; } = 64;

    /// <summary>Longest string, in characters. Default 4,096.</summary>
    public int MaxStringLength { get; init; } = 4096;

    /// <summary>Most items in one array or keys in one object. Default 10,000.</summary>
    public int MaxArrayItems { get; init; } = 10_000;

    /// <summary>Most rules in a model. Default 5,000.</summary>
    public int MaxRules { get; init; } = 5_000;

    /// <summary>Longest regular expression of a <c>matches</c> operand, in characters. Default 512.</summary>
    public int MaxRegexLength { get; init; } = 512;

    /// <summary>Time limit of one regular-expression match. Default 50 ms.</summary>
    public TimeSpan RegexTimeout { get; init; } = TimeSpan.FromMilliseconds(50);
}

/// <summary>One reason a model was refused: where (JSON path, and line and column for file input) and why.</summary>
/// <param name="Path">The JSON path, e.g. <c>$.rules[3].limit.count</c>.</param>
/// <param name="Message">The reason in plain words.</param>
/// <param name="Line">1-based line in the document, when read from text.</param>
/// <param name="Column">1-based column in the document, when read from text.</param>
public sealed record ModelError(string Path, string Message, int? Line = null, int? Column = null)
{
    /// <summary>Formats the error as <c>source(line,col): path: message</c>.</summary>
    public string ToString(string? source)
    {
        var sb = new StringBuilder();
        if (source is not null)
        {
            sb.Append(source);
        }

        if (Line is not null)
        {
            sb.Append('(').Append(Line).Append(',').Append(Column).Append(')');
        }

        if (sb.Length > 0)
        {
            sb.Append(": ");
        }

        return sb.Append(Path).Append(": ").Append(Message).ToString();
    }

    /// <inheritdoc />
    public override string ToString() => ToString(null);
}

/// <summary>The outcome of loading a model: the model, or every error found.</summary>
public sealed class ModelLoadResult
{
    internal ModelLoadResult(ScoringModel? model, ImmutableArray<ModelError> errors)
    {
        Model = model;
        Errors = errors;
    }

    /// <summary>The model, or <see langword="null"/> when it was refused.</summary>
    public ScoringModel? Model { get; }

    /// <summary>Every error found, in document order; empty when the model was accepted.</summary>
    public ImmutableArray<ModelError> Errors { get; }

    /// <summary>Whether the model was accepted.</summary>
    public bool IsValid => Model is not null;

    /// <summary>Returns the model, or throws <see cref="ModelValidationException"/> listing every error.</summary>
    public ScoringModel GetModelOrThrow(string? source = null) =>
        Model ?? throw new ModelValidationException(Errors, source);
}

/// <summary>Thrown when a model is refused; <see cref="Errors"/> lists every reason.</summary>
public sealed class ModelValidationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ModelValidationException(ImmutableArray<ModelError> errors, string? source = null)
        : base(Format(errors, source))
    {
        Errors = errors;
    }

    /// <summary>Every error found.</summary>
    public ImmutableArray<ModelError> Errors { get; }

    private static string Format(ImmutableArray<ModelError> errors, string? source) =>
        $"The scoring model{(source is null ? "" : " " + source)} was refused with {errors.Length} error(s):" + Environment.NewLine +
        string.Join(Environment.NewLine, errors.Select(e => "  " + e.ToString(source)));
}

/// <summary>Loads and validates scoring-model documents (spec sections 3 and 4).</summary>
public static class ScoringModelLoader
{
    /// <summary>Loads a model from UTF-8 JSON.</summary>
    public static ModelLoadResult Load(ReadOnlySpan<byte> utf8Json, ModelLoadOptions? options = null) =>
        ModelDocumentReader.Read(utf8Json, options ?? ModelLoadOptions.Default);

    /// <summary>Loads a model from a JSON string.</summary>
    public static ModelLoadResult Load(string json, ModelLoadOptions? options = null) =>
        Load(Encoding.UTF8.GetBytes(json ?? throw new ArgumentNullException(nameof(json))), options);

    /// <summary>Loads a model from a stream, reading at most <see cref="ModelLoadOptions.MaxDocumentBytes"/>.</summary>
    public static ModelLoadResult Load(Stream stream, ModelLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        options ??= ModelLoadOptions.Default;
        using var buffer = new MemoryStream();
        var chunk = new byte[81920];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (buffer.Length + read > options.MaxDocumentBytes)
            {
                return TooLarge(options);
            }

            buffer.Write(chunk, 0, read);
        }

        return Load(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), options);
    }

    /// <summary>Loads a model from a file.</summary>
    public static ModelLoadResult LoadFile(string path, ModelLoadOptions? options = null)
    {
        options ??= ModelLoadOptions.Default;
        var info = new FileInfo(path);
        if (info.Exists && info.Length > options.MaxDocumentBytes)
        {
            return TooLarge(options);
        }

        using var stream = File.OpenRead(path);
        return Load(stream, options);
    }

    private static ModelLoadResult TooLarge(ModelLoadOptions options) =>
        new(null, [new ModelError("$", $"the document is larger than {options.MaxDocumentBytes} bytes", 1, 1)]);
}
