namespace Periscope.Bundle;

/// <summary>A bundle that cannot be trusted or read; <see cref="Exception.Message"/> says why in a sentence.</summary>
public sealed class BundleRejectedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BundleRejectedException()
    {
    }

    /// <summary>Creates the exception with a reason.</summary>
    public BundleRejectedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a reason and the error underneath.</summary>
    public BundleRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
