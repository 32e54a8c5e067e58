// Procedural delivery (engine/procedural.py, issue #15): the synapses of a spiking source
// are regenerated from its counter-based stream and added to the targets' ring buffers;
// nothing is stored. The integer arithmetic is that of the NumPy rule, word for word:
// Philox4x32-10 keyed by the projection, counter (source, purpose, draw lo, draw hi +
// attempt), uniform_from of words 0 and 1, Lemire's product for indices, the 4-round Feistel
// permutation with cycle-walking. The float functions (log, sqrt, cos, exp) are CUDA's, so a
// value may differ from NumPy's in its last bit.
//
// Not wired into the GPU step yet: the CPU engine delivers procedural projections, and on a
// GPU they are stored. One thread per spike walks its source's synapses in draw order
// (geometric skipping is sequential per source); a later version splits long rows over a warp.
#include "neurongpu_common.cuh"

#define RULE_ALL 0
#define RULE_BERNOULLI 1
#define RULE_FIXED_OUT 2

#define VALUE_CONSTANT 0
#define VALUE_UNIFORM 1
#define VALUE_UNIFORM_INT 2
#define VALUE_NORMAL 3
#define VALUE_NORMAL_CLIPPED 4
#define VALUE_NORMAL_CLIPPED_TO_BOUNDARY 5
#define VALUE_LOGNORMAL 6
#define VALUE_EXPONENTIAL 7

#define PURPOSE_CONNECT 0u
#define PURPOSE_WEIGHT 1u
#define PURPOSE_DELAY 2u
#define PURPOSE_PERMUTATION 3u

struct ValueSpec {
    int kind;
    double a, b, low, high;   // (low, high) / (mu, sigma) / beta in a; clip bounds
};

struct RuleArgs {
    int kind;
    int n_post;
    long long n;               // out-degree (fixed_out)
    int replace;
    double log_q;              // log1p(-p) (bernoulli)
    unsigned int key0, key1;
    double steps_per_ms;
    ValueSpec weight, delay;
};

__device__ __forceinline__ Philox4 rule_words(const RuleArgs& r, unsigned int source,
                                              unsigned int purpose, unsigned long long ordinal,
                                              unsigned int attempt)
{
    return philox4x32_10(source, purpose, (unsigned int)ordinal,
                         (unsigned int)(ordinal >> 32) + attempt, r.key0, r.key1);
}

__device__ __forceinline__ double box_muller(const Philox4& w)
{
    const double u1 = uniform_from(w.v[0], w.v[1]), u2 = uniform_from(w.v[2], w.v[3]);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.141592653589793 * u2);
}

__device__ double rule_value(const RuleArgs& r, const ValueSpec& s, unsigned int purpose,
                             unsigned int source, unsigned long long ordinal)
{
    if (s.kind == VALUE_CONSTANT) return s.a;
    Philox4 w = rule_words(r, source, purpose, ordinal, 0u);
    switch (s.kind) {
    case VALUE_UNIFORM:
        return s.a + (s.b - s.a) * uniform_from(w.v[0], w.v[1]);
    case VALUE_UNIFORM_INT: {
        const unsigned long long span = (unsigned long long)((long long)s.b - (long long)s.a);
        return (double)((long long)s.a + (long long)((w.v[0] * span) >> 32));
    }
    case VALUE_NORMAL:
        return s.a + s.b * box_muller(w);
    case VALUE_NORMAL_CLIPPED_TO_BOUNDARY:
        return fmin(fmax(s.a + s.b * box_muller(w), s.low), s.high);
    case VALUE_NORMAL_CLIPPED: {
        double x = s.a + s.b * box_muller(w);
        for (unsigned int attempt = 1; (x < s.low || x > s.high) && attempt <= 1000; ++attempt)
            x = s.a + s.b * box_muller(rule_words(r, source, purpose, ordinal, attempt));
        return x;
    }
    case VALUE_LOGNORMAL:
        return exp(s.a + s.b * box_muller(w));
    default:  // VALUE_EXPONENTIAL
        return -s.a * log(uniform_from(w.v[0], w.v[1]));
    }
}

__device__ __forceinline__ unsigned long long mix32(unsigned long long x)
{
    x ^= x >> 16;
    x = (x * 0x85EBCA6Bull) & 0xFFFFFFFFull;
    return x ^ (x >> 13);
}

__device__ unsigned long long feistel(unsigned long long x, const Philox4& keys, int half)
{
    const unsigned long long mask = (1ull << half) - 1ull;
    unsigned long long left = x >> half, right = x & mask;
    #pragma unroll
    for (int k = 0; k < 4; ++k) {
        const unsigned long long f =
            mix32(((right ^ keys.v[k]) * 0x9E3779B1ull) & 0xFFFFFFFFull) & mask;
        const unsigned long long t = left ^ f;
        left = right;
        right = t;
    }
    return (left << half) | right;
}

__device__ __forceinline__ void add_input(real* ring, int n_slots, int n_ports, int n_local,
                                          int port, long long step, int target_local,
                                          int delay, real value)
{
    const long long slot = (step + delay) % n_slots;
    atomicAdd(ring + (slot * n_ports + port) * (long long)n_local + target_local, value);
}

// spikes: `n_spikes` (source index in the projection's presynaptic cells, multiplicity);
// exclude[source]: the target it may not reach, or -1 (nullptr: none); post_local[target]:
// the target's index in the family whose ring buffer is `ring`; bits_half: the Feistel half
// width for the largest allowed count (fixed_out without replacement).
extern "C" __global__ void procedural_deliver(
    const int* spike_source, const int* spike_mult, int n_spikes, RuleArgs rule,
    const int* exclude, const int* post_local, real* ring, int n_slots, int n_ports,
    int n_local, int port, long long step, int bits_half)
{
    for (int s = blockIdx.x * blockDim.x + threadIdx.x; s < n_spikes;
         s += gridDim.x * blockDim.x) {
        const unsigned int src = (unsigned int)spike_source[s];
        const real mult = (real)spike_mult[s];
        const int ex = exclude ? exclude[src] : -1;
        const long long allowed = rule.n_post - (ex >= 0 ? 1 : 0);
        long long position = -1;
        unsigned long long ordinal = 0;
        Philox4 perm_keys;
        if (rule.kind == RULE_FIXED_OUT && !rule.replace)
            perm_keys = philox4x32_10(src, PURPOSE_PERMUTATION, 0u, 0u, rule.key0, rule.key1);
        for (;; ++ordinal) {
            long long target;
            if (rule.kind == RULE_ALL) {
                if ((long long)ordinal >= rule.n_post) break;
                target = (long long)ordinal;
                if (target == ex) continue;
            } else if (rule.kind == RULE_BERNOULLI) {
                const Philox4 w = rule_words(rule, src, PURPOSE_CONNECT, ordinal, 0u);
                const double gap = fmin(floor(log(uniform_from(w.v[0], w.v[1])) / rule.log_q),
                                        (double)rule.n_post);
                position += (long long)gap + 1;
                if (position >= rule.n_post) break;
                target = position;
                if (target == ex) continue;
            } else {
                if ((long long)ordinal >= rule.n) break;
                if (rule.replace) {
                    const Philox4 w = philox4x32_10(src, PURPOSE_CONNECT, (unsigned int)ordinal,
                                                    0u, rule.key0, rule.key1);
                    target = (long long)(((unsigned long long)w.v[0]
                                          * (unsigned long long)allowed) >> 32);
                } else {
                    unsigned long long x = feistel(ordinal % (unsigned long long)allowed,
                                                   perm_keys, bits_half);
                    while (x >= (unsigned long long)allowed) x = feistel(x, perm_keys, bits_half);
                    target = (long long)x;
                }
                if (ex >= 0 && target >= ex) ++target;
            }
            const double w = rule_value(rule, rule.weight, PURPOSE_WEIGHT, src, ordinal);
            const double d = rule_value(rule, rule.delay, PURPOSE_DELAY, src, ordinal);
            const int delay = (int)floor(d * rule.steps_per_ms + 0.5);
            add_input(ring, n_slots, n_ports, n_local, port, step, post_local[target], delay,
                      (real)w * mult);
        }
    }
}
