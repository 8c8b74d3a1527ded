namespace Engine;

/// <summary>A parameter value was rejected before anything started. The message names the parameter, the value and what is accepted.</summary>
public sealed class EngineParameterException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    public EngineParameterException(string parameter, string message)
        : base(message)
    {
        Parameter = parameter;
    }

    /// <summary>The parameter, as QEMU spells it (<c>compress-level</c>, ...).</summary>
    public string Parameter { get; }
}
