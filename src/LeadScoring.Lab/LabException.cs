namespace LeadScoring.Lab;

/// <summary>Bad input to the model lab (an unknown outcome event, no positives, too little data...), in plain words.</summary>
public sealed class LabException : Exception
{
    /// <summary>Creates the exception with its message.</summary>
    public LabException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its message and cause.</summary>
    public LabException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public LabException()
    {
    }
}
