namespace Razor.Microkernel.Formats.SquashFs;

/// <summary>A safe LZO1X decoder (the format of liblzo2's lzo1x_decompress_safe, which squashfs-tools uses for
/// every lzo variant it writes). Every read and write is bounds-checked.</summary>
internal static class Lzo1x
{
    public static int Decode(ReadOnlySpan<byte> src, Span<byte> dst)
    {
        if (src.Length < 3)
        {
            throw new InvalidDataException("an lzo block is shorter than 3 bytes");
        }

        var ip = 0;
        var op = 0;
        var state = 0;
        if (src[0] > 17)
        {
            var t = src[ip++] - 17;
            Literals(src, ref ip, dst, ref op, t);
            state = t < 4 ? t : 4;
        }

        while (true)
        {
            var t = Byte(src, ref ip);
            int distance;
            int length;
            int next;
            if (t < 16)
            {
                if (state == 0)
                {
                    if (t == 0)
                    {
                        t = 15 + Extended(src, ref ip);
                    }

                    Literals(src, ref ip, dst, ref op, t + 3);
                    state = 4;
                    continue;
                }

                next = t & 3;
                if (state != 4)
                {
                    distance = 1 + (t >> 2) + (Byte(src, ref ip) << 2);
                    length = 2;
                }
                else
                {
                    distance = 1 + 0x800 + (t >> 2) + (Byte(src, ref ip) << 2);
                    length = 3;
                }
            }
            else if (t >= 64)
            {
                next = t & 3;
                distance = 1 + ((t >> 2) & 7) + (Byte(src, ref ip) << 3);
                length = (t >> 5) + 1;
            }
            else if (t >= 32)
            {
                length = (t & 31) + 2;
                if (length == 2)
                {
                    length = 2 + 31 + Extended(src, ref ip);
                }

                var v = Byte(src, ref ip) | (Byte(src, ref ip) << 8);
                distance = 1 + (v >> 2);
                next = v & 3;
            }
            else
            {
                distance = (t & 8) << 11;
                length = (t & 7) + 2;
                if (length == 2)
                {
                    length = 2 + 7 + Extended(src, ref ip);
                }

                var v = Byte(src, ref ip) | (Byte(src, ref ip) << 8);
                distance += v >> 2;
                next = v & 3;
                if (distance == 0)
                {
                    return op; // end of stream marker
                }

                distance += 0x4000;
            }

            if (distance > op)
            {
                throw new InvalidDataException("an lzo match reaches before the start of the output");
            }

            if (length > dst.Length - op)
            {
                throw new InvalidDataException("the lzo block decodes to more bytes than a block holds");
            }

            var from = op - distance;
            if (distance >= length)
            {
                dst.Slice(from, length).CopyTo(dst[op..]);
            }
            else
            {
                for (var i = 0; i < length; i++)
                {
                    dst[op + i] = dst[from + i];
                }
            }

            op += length;
            Literals(src, ref ip, dst, ref op, next);
            state = next;
        }
    }

    private static int Byte(ReadOnlySpan<byte> src, ref int ip)
    {
        if (ip >= src.Length)
        {
            throw new InvalidDataException("the lzo block ends early");
        }

        return src[ip++];
    }

    /// <summary>A run of zero bytes (255 each) then a non-zero byte.</summary>
    private static int Extended(ReadOnlySpan<byte> src, ref int ip)
    {
        var t = 0;
        while (Byte(src, ref ip) is 0)
        {
            t += 255;
        }

        return t + src[ip - 1];
    }

    private static void Literals(ReadOnlySpan<byte> src, ref int ip, Span<byte> dst, ref int op, int count)
    {
        if (count > src.Length - ip)
        {
            throw new InvalidDataException("the lzo block ends early");
        }

        if (count > dst.Length - op)
        {
            throw new InvalidDataException("the lzo block decodes to more bytes than a block holds");
        }

        src.Slice(ip, count).CopyTo(dst[op..]);
        ip += count;
        op += count;
    }
}
