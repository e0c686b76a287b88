namespace Stilts.Pipeline;

/// <summary>
/// xoshiro256** (Blackman and Vigna): a small seeded generator whose whole state is four ulongs, so a checkpoint can
/// store it and a resumed run continues the exact same sequence. System.Random cannot be serialized, which is why
/// every random choice the runner makes (shuffles, task sampling, masking seeds) goes through this.
/// </summary>
public sealed class Xoshiro256
{
    ulong _s0, _s1, _s2, _s3;

    Xoshiro256(ulong s0, ulong s1, ulong s2, ulong s3) => (_s0, _s1, _s2, _s3) = (s0, s1, s2, s3);

    /// <summary>Seeds the four words from SplitMix64, as the authors recommend (never all zero).</summary>
    public static Xoshiro256 Create(ulong seed)
    {
        ulong x = seed;
        return new Xoshiro256(SplitMix64(ref x), SplitMix64(ref x), SplitMix64(ref x), SplitMix64(ref x));
    }

    /// <summary>A generator for one purpose, e.g. Derive(seed, "shuffle", taskId, epoch): independent streams that
    /// depend only on the keys, so they need no saved state.</summary>
    public static Xoshiro256 Derive(long seed, params long[] keys) => Create(DeriveSeed(seed, keys));

    public static ulong DeriveSeed(long seed, params long[] keys)
    {
        ulong x = (ulong)seed;
        ulong h = SplitMix64(ref x);
        foreach (long k in keys)
        {
            x = h ^ (ulong)k;
            h = SplitMix64(ref x);
        }
        return h;
    }

    /// <summary>A stable 64-bit key for a string (FNV-1a), for <see cref="Derive"/>. string.GetHashCode is randomized per process.</summary>
    public static long Key(string text)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in text) { h ^= c; h *= 1099511628211UL; }
        return (long)h;
    }

    public static Xoshiro256 FromState(IReadOnlyList<ulong> state)
    {
        if (state.Count != 4 || state.All(w => w == 0))
            throw new InvalidInputException("rng_state", "expected four words, not all zero");
        return new Xoshiro256(state[0], state[1], state[2], state[3]);
    }

    public ulong[] GetState() => [_s0, _s1, _s2, _s3];

    public ulong NextULong()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextULong() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [0, n) without modulo bias (Lemire's multiply-shift with rejection).</summary>
    public int Next(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n));
        ulong bound = (ulong)n;
        while (true)
        {
            ulong r = NextULong();
            UInt128 m = (UInt128)r * bound;
            ulong low = (ulong)m;
            if (low >= bound || low >= (0UL - bound) % bound) return (int)(m >> 64);
        }
    }

    /// <summary>Fisher-Yates, in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (int i = items.Count - 1; i > 0; i--)
        {
            int j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>An index drawn with the given probabilities (they need not sum to exactly 1).</summary>
    public int Categorical(IReadOnlyList<double> probabilities)
    {
        double total = probabilities.Sum();
        double u = NextDouble() * total;
        for (int i = 0; i < probabilities.Count; i++)
        {
            u -= probabilities[i];
            if (u < 0) return i;
        }
        // Rounding can leave u a hair above zero: fall back on the last index with mass.
        for (int i = probabilities.Count - 1; i >= 0; i--) if (probabilities[i] > 0) return i;
        throw new ArgumentException("all probabilities are zero");
    }

    static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
