// Procedural delivery (engine/procedural.py, issue #15): the synapses of a spiking source
// are regenerated from its counter-based stream and added to the targets' ring buffers;
// nothing is stored. The integer arithmetic is that of the NumPy rule, word for word:
// Philox4x32-10 keyed by the projection, counter (source, purpose, draw lo, draw hi +
// attempt), uniform_from of words 0 and 1, Lemire's product for indices, the 4-round Feistel
// permutation with cycle-walking. The float functions (log, sqrt, cos, exp) are CUDA's, so a
// value may differ from NumPy's in its last bit (CuPy's array code uses the same ones).
//
// The GPU step (engine/gpu/procedural.py) launches procedural_deliver once per projection
// and target family in every step, after the update and before the step ends: one thread
// per spike of the step's spike list walks its source's synapses in draw order (geometric
// skipping is sequential per source).
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

#define OP_ADD 0
#define OP_SUB 1
#define OP_RSUB 2
#define OP_MUL 3
#define OP_DIV 4
#define OP_RDIV 5
#define OP_NEG 6
#define OP_ABS 7
#define MAX_OPS 4

// Every field is 8 bytes wide, as engine/gpu/abi.py PROCEDURAL_RULE_DTYPE.
struct ValueSpec {
    long long kind;
    double a, b, low, high;   // (low, high) / (mu, sigma) / beta in a; clip bounds
    long long n_ops;          // scalar operations applied after the draw, in order
    long long op[MAX_OPS];
    double arg[MAX_OPS];
};

struct RuleArgs {
    long long kind;
    long long n_post;
    long long n;               // out-degree (fixed_out)
    long long replace;
    double log_q;              // log1p(-p) (bernoulli)
    long long key0, key1;
    double steps_per_ms;
    ValueSpec weight, delay;
};

__device__ __forceinline__ Philox4 rule_words(const RuleArgs& r, unsigned int source,
                                              unsigned int purpose, unsigned long long ordinal,
                                              unsigned int attempt)
{
    return philox4x32_10(source, purpose, (unsigned int)ordinal,
                         (unsigned int)(ordinal >> 32) + attempt, (unsigned int)r.key0,
                         (unsigned int)r.key1);
}

__device__ __forceinline__ double box_muller(const Philox4& w)
{
    const double u1 = uniform_from(w.v[0], w.v[1]), u2 = uniform_from(w.v[2], w.v[3]);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.141592653589793 * u2);
}

__device__ double apply_ops(const ValueSpec& s, double x)
{
    for (int k = 0; k < s.n_ops; ++k) {
        const double c = s.arg[k];
        switch (s.op[k]) {
        case OP_ADD: x = x + c; break;
        case OP_SUB: x = x - c; break;
        case OP_RSUB: x = c - x; break;
        case OP_MUL: x = x * c; break;
        case OP_DIV: x = x / c; break;
        case OP_RDIV: x = c / x; break;
        case OP_NEG: x = -x; break;
        default: x = fabs(x); break;  // OP_ABS
        }
    }
    return x;
}

__device__ double draw_value(const RuleArgs& r, const ValueSpec& s, unsigned int purpose,
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

__device__ __forceinline__ double rule_value(const RuleArgs& r, const ValueSpec& s,
                                             unsigned int purpose, unsigned int source,
                                             unsigned long long ordinal)
{
    return apply_ops(s, draw_value(r, s, purpose, source, ordinal));
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

// The step's spike list (global ids, multiplicities, count) as the update wrote it;
// source_of[gid]: the spiking cell's index among the projection's presynaptic cells, or -1;
// exclude[source]: the target it may not reach, or -1 (nullptr: none); post_local[target]:
// the target's index in the family whose ring buffer is `ring`, or -1 where the target is
// in another family; bits_half: the Feistel half width (fixed_out without replacement).
// The step is clock[0] (the launch comes before the step's end advances it).
extern "C" __global__ void procedural_deliver(
    const long long* __restrict__ clock, const int* __restrict__ spk_gid,
    const int* __restrict__ spk_mult, const int* __restrict__ spk_count,
    const int* __restrict__ source_of, const RuleArgs* __restrict__ rule_args,
    const int* __restrict__ exclude, const int* __restrict__ post_local,
    real* __restrict__ ring, const int n_slots, const int n_ports, const int n_local,
    const int port, const int bits_half)
{
    const RuleArgs& rule = *rule_args;
    const long long step = clock[0];
    const int n_spikes = *spk_count;
    for (int s = blockIdx.x * blockDim.x + threadIdx.x; s < n_spikes;
         s += gridDim.x * blockDim.x) {
        const int source = source_of[spk_gid[s]];
        if (source < 0) continue;
        const unsigned int src = (unsigned int)source;
        const real mult = (real)spk_mult[s];
        const int ex = exclude ? exclude[src] : -1;
        const long long allowed = rule.n_post - (ex >= 0 ? 1 : 0);
        long long position = -1;
        unsigned long long ordinal = 0;
        Philox4 perm_keys;
        if (rule.kind == RULE_FIXED_OUT && !rule.replace)
            perm_keys = philox4x32_10(src, PURPOSE_PERMUTATION, 0u, 0u, (unsigned int)rule.key0,
                                      (unsigned int)rule.key1);
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
                                                    0u, (unsigned int)rule.key0,
                                                    (unsigned int)rule.key1);
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
            const int local = post_local[target];
            if (local < 0) continue;
            const double w = rule_value(rule, rule.weight, PURPOSE_WEIGHT, src, ordinal);
            const double d = rule_value(rule, rule.delay, PURPOSE_DELAY, src, ordinal);
            const int delay = (int)floor(d * rule.steps_per_ms + 0.5);
            add_input(ring, n_slots, n_ports, n_local, port, step, local, delay,
                      (real)w * mult);
        }
    }
}
