using System.Text;
using System.Text.Json;

namespace Engine.Transport;

/// <summary>
/// The client's TLS stream reads the connection through this: during the handshake it keeps the first bytes the server
/// sent, so that a failed handshake can say what the server answered instead (a plaintext destination's error line);
/// the server's runs <see cref="BeforeRead"/> (see TlsSessionTickets). Afterwards it only passes calls through.
/// </summary>
internal sealed class HandshakeRecorder : SpanStream
{
    private const int Keep = 512;
    private readonly Stream _inner;
    private byte[]? _seen = new byte[Keep];
    private int _count;

    public HandshakeRecorder(Stream inner) => _inner = inner;

    public Stream Inner => _inner;

    public override bool CanRead => _inner.CanRead;

    public override bool CanWrite => _inner.CanWrite;

    public override int ReadTimeout
    {
        get => _inner.ReadTimeout;
        set => _inner.ReadTimeout = value;
    }

    public override int WriteTimeout
    {
        get => _inner.WriteTimeout;
        set => _inner.WriteTimeout = value;
    }

    public override bool CanTimeout => _inner.CanTimeout;

    /// <summary>Called before each read of the handshake until it returns true (the server's session-ticket switch).</summary>
    public Func<bool>? BeforeRead { get; set; }

    /// <summary>The handshake succeeded: forget what was seen.</summary>
    public void StopRecording()
    {
        _seen = null;
        BeforeRead = null;
    }

    /// <summary>When the server's first bytes were not a TLS record: what they were (its error line if it sent one), else null.</summary>
    public string? DescribePlaintext()
    {
        if (_seen is null || _count == 0 || _seen[0] == 0x16 || _seen[0] == 0x15)
        {
            return null;
        }

        ReadOnlySpan<byte> seen = _seen.AsSpan(0, _count);
        if (seen[0] == (byte)'{')
        {
            int end = seen.IndexOf((byte)'\n');
            string line = Encoding.UTF8.GetString(end >= 0 ? seen[..end] : seen);
            try
            {
                using JsonDocument doc = JsonDocument.Parse(line);
                if (doc.RootElement.TryGetProperty("error", out JsonElement error) && error.GetString() is string reason)
                {
                    return $"'{reason}'";
                }
            }
            catch (JsonException)
            {
                // Not an Engine error line: shown as bytes below.
            }
        }

        return TlsTransport.Show(seen[..Math.Min(seen.Length, 16)]);
    }

    public override int Read(Span<byte> buffer)
    {
        Hook();
        int n = _inner.Read(buffer);
        Record(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Hook();
        int n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Record(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(ReadOnlySpan<byte> buffer) => _inner.Write(buffer);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => _inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Hook()
    {
        if (BeforeRead is { } hook && hook())
        {
            BeforeRead = null;
        }
    }

    private void Record(ReadOnlySpan<byte> bytes)
    {
        byte[]? seen = _seen;
        if (seen is not null && _count < Keep)
        {
            int take = Math.Min(bytes.Length, Keep - _count);
            bytes[..take].CopyTo(seen.AsSpan(_count));
            _count += take;
        }
    }
}
