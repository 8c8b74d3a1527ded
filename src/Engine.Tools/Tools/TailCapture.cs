using Engine.Wire;
using Engine.Transport;

namespace Engine.Tools;

/// <summary>
/// Passes the bytes after RAM's END on to an inner stream and keeps a copy (up to a cap) so that their end can be checked
/// with <see cref="StreamTail"/> once the source has closed: a device state cut off by a dying source is then reported.
/// </summary>
internal sealed class TailCapture : SpanStream
{
    private readonly Stream _inner;
    private readonly MemoryStream _copy = new();
    private readonly long _cap;

    public TailCapture(Stream inner, long cap)
    {
        _inner = inner;
        _cap = cap;
    }

    /// <summary>False once more than the cap went through: the end can then not be checked.</summary>
    public bool Kept { get; private set; } = true;

    public override bool CanRead => false;

    public override bool CanWrite => true;

    public ReadOnlySpan<byte> Bytes => _copy.GetBuffer().AsSpan(0, (int)_copy.Length);

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        _inner.Write(buffer);
        if (Kept && _copy.Length + buffer.Length <= _cap)
        {
            _copy.Write(buffer);
        }
        else
        {
            Kept = false;
            _copy.SetLength(0);
        }
    }

    public override void Flush() => _inner.Flush();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _copy.Dispose();
        }

        base.Dispose(disposing);
    }
}
