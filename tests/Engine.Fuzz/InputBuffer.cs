namespace Engine.Fuzz;

/// <summary>Reads each AFL input into one reused array, so the fuzz loop allocates nothing per input for it.</summary>
internal sealed class InputBuffer
{
    // afl-fuzz never writes inputs larger than 1 MiB (its MAX_FILE); the array grows if a replayed file is larger.
    private byte[] _buffer = new byte[1 << 20];

    public ReadOnlyMemory<byte> ReadAll(Stream stream)
    {
        int length = 0;
        while (true)
        {
            if (length == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            int read = stream.Read(_buffer, length, _buffer.Length - length);
            if (read == 0)
            {
                return _buffer.AsMemory(0, length);
            }

            length += read;
        }
    }
}
