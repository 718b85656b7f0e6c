using System.Runtime.InteropServices;

namespace Razor.Microkernel.Bench;

/// <summary>SplitMix64: a small, fast generator whose sequence depends only on the seed (never on the
/// runtime version, unlike <see cref="Random"/>), so every run builds the same bytes.</summary>
internal sealed class Prng(ulong seed)
{
    private ulong _state = seed;

    public ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A number in [0, max).</summary>
    public int Next(int max) => (int)((Next() >> 32) * (ulong)max >> 32);

    /// <summary>A number in [min, max].</summary>
    public long Range(long min, long max) => min + (long)(Next() % (ulong)(max - min + 1));

    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Log-uniform between min and max: many small values, a few large ones.</summary>
    public long LogUniform(long min, long max) => (long)Math.Round(min * Math.Pow((double)max / min, NextDouble()));

    public void Fill(Span<byte> bytes)
    {
        var words = MemoryMarshal.Cast<byte, ulong>(bytes);
        for (var i = 0; i < words.Length; i++)
        {
            words[i] = Next();
        }

        for (var i = words.Length * 8; i < bytes.Length; i++)
        {
            bytes[i] = (byte)Next();
        }
    }
}
