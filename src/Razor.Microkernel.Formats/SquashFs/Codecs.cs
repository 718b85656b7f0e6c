using System.Buffers.Binary;
using System.IO.Compression;
using K4os.Compression.LZ4;
using SharpCompress.Compressors.LZMA;
using SharpCompress.Compressors.Xz;
using ZstdDecompressor = SharpCompress.Compressors.ZStandard.Decompressor;

namespace Razor.Microkernel.Formats.SquashFs;

/// <summary>Decodes one SquashFS block (metadata or data) with the image's compressor. Thread-safe.</summary>
internal abstract class Codec
{
    /// <summary>Decodes <paramref name="source"/> into <paramref name="target"/> and returns the decoded length.
    /// Output that would not fit <paramref name="target"/> and malformed input throw (any exception type:
    /// the caller turns it into a <see cref="SquashFsFormatException"/> with the block's offset).</summary>
    public abstract int Decode(byte[] source, int length, Span<byte> target);

    public static Codec For(SquashFsCompression compression) => compression switch
    {
        SquashFsCompression.Zlib => new ZlibCodec(),
        SquashFsCompression.Lzma => new LzmaCodec(),
        SquashFsCompression.Lzo => new LzoCodec(),
        SquashFsCompression.Xz => new XzCodec(),
        SquashFsCompression.Lz4 => new Lz4Codec(),
        SquashFsCompression.Zstd => new ZstdCodec(),
        _ => throw new ArgumentOutOfRangeException(nameof(compression)),
    };

    /// <summary>Reads a decoding stream into <paramref name="target"/> and refuses output beyond it.</summary>
    protected static int Drain(Stream decoder, Span<byte> target)
    {
        var done = 0;
        while (done < target.Length)
        {
            var n = decoder.Read(target[done..]);
            if (n <= 0)
            {
                return done;
            }

            done += n;
        }

        Span<byte> one = stackalloc byte[1];
        if (decoder.Read(one) > 0)
        {
            throw new InvalidDataException("the block decodes to more bytes than a block holds");
        }

        return done;
    }

    private sealed class ZlibCodec : Codec
    {
        public override int Decode(byte[] source, int length, Span<byte> target)
        {
            using var input = new MemoryStream(source, 0, length, writable: false);
            using var z = new ZLibStream(input, CompressionMode.Decompress);
            return Drain(z, target);
        }
    }

    /// <summary>squashfs-tools' lzma: the LZMA "alone" header (5 property bytes, u64 decoded size), then the stream.</summary>
    private sealed class LzmaCodec : Codec
    {
        public override int Decode(byte[] source, int length, Span<byte> target)
        {
            if (length < 13)
            {
                throw new InvalidDataException("an lzma block is shorter than its header");
            }

            var size = BinaryPrimitives.ReadUInt64LittleEndian(source.AsSpan(5, 8));
            if (size > (ulong)target.Length)
            {
                throw new InvalidDataException($"an lzma block says it decodes to {size} bytes, more than a block holds");
            }

            var props = source.AsSpan(0, 5).ToArray();
            using var input = new MemoryStream(source, 13, length - 13, writable: false);
            using var lzma = LzmaStream.Create(props, input, length - 13, (long)size, leaveOpen: false);
            var n = Drain(lzma, target[..(int)size]);
            if (n != (int)size)
            {
                throw new InvalidDataException($"an lzma block decoded to {n} bytes, its header says {size}");
            }

            return n;
        }
    }

    private sealed class XzCodec : Codec
    {
        public override int Decode(byte[] source, int length, Span<byte> target)
        {
            using var input = new MemoryStream(source, 0, length, writable: false);
            using var xz = new XZStream(input);
            return Drain(xz, target);
        }
    }

    private sealed class Lz4Codec : Codec
    {
        public override int Decode(byte[] source, int length, Span<byte> target)
        {
            var n = LZ4Codec.Decode(source.AsSpan(0, length), target);
            if (n < 0)
            {
                throw new InvalidDataException("the lz4 block is malformed or decodes to more bytes than a block holds");
            }

            return n;
        }
    }

    private sealed class ZstdCodec : Codec
    {
        [ThreadStatic]
        private static ZstdDecompressor? t_decompressor;

        public override int Decode(byte[] source, int length, Span<byte> target)
        {
            t_decompressor ??= new ZstdDecompressor();
            try
            {
                return t_decompressor.Unwrap(source.AsSpan(0, length), target);
            }
            catch
            {
                // A failed frame may leave the context in any state: start the next block with a fresh one.
                t_decompressor.Dispose();
                t_decompressor = null;
                throw;
            }
        }
    }

    private sealed class LzoCodec : Codec
    {
        public override int Decode(byte[] source, int length, Span<byte> target)
            => Lzo1x.Decode(source.AsSpan(0, length), target);
    }
}
