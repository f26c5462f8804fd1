using LeadScoring.Messages;

namespace LeadScoring.Engine;

internal enum FieldRoot : byte
{
    Traits,
    Account,
    Properties,
    Context,
    Event,
    Score,
    Grade,
    Persona,
    Stage,
}

/// <summary>A field path parsed once at compile time: its root and the segments below it.</summary>
internal sealed class FieldPath
{
    public FieldPath(string text, FieldRoot root, string[] segments, int scoreIndex)
    {
        Text = text;
        Root = root;
        Segments = segments;
        ScoreIndex = scoreIndex;
    }

    public string Text { get; }

    public FieldRoot Root { get; }

    public string[] Segments { get; }

    public int ScoreIndex { get; }

    /// <summary>Walks <see cref="Segments"/> from index <paramref name="start"/> into nested objects.</summary>
    public DataValue? Walk(DataValue? value, int start)
    {
        for (int i = start; i < Segments.Length && value is not null; i++)
        {
            value = value.Get(Segments[i]);
        }

        return value;
    }
}

/// <summary>A field's value at one instant, without allocating: a JSON value, or a number or name the engine computed.</summary>
internal readonly struct FieldValue
{
    public readonly DataKind Kind;
    public readonly string? Text;
    public readonly double Number;
    public readonly bool Found;

    public FieldValue(DataKind kind, string? text, double number)
    {
        Kind = kind;
        Text = text;
        Number = number;
        Found = true;
    }

    public static readonly FieldValue Missing;

    public static FieldValue Of(DataValue? v) => v is null ? Missing : new FieldValue(v.Kind, v.AsText, v.Number);

    public static FieldValue OfName(string? name) => name is null ? Missing : new FieldValue(DataKind.String, name, DataValue.ParseNumber(name));

    public static FieldValue OfNumber(double d) => new(DataKind.Number, null, d);

    public bool IsNumeric => !double.IsNaN(Number);
}
