// Procedural delivery (engine/procedural.py, issue #15): the synapses of a spiking source
// are regenerated from its counter-based stream and added to the targets' ring buffers;
// nothing is stored. The integer arithmetic is that of the NumPy rule, word for word:
// Philox4x32-10 keyed by the projection, counter (source, purpose, draw lo, draw hi +
// attempt), uniform_from of words 0 and 1, Lemire's product for indices, the 4-round Feistel
// permutation with cycle-walking. The float functions (log, sqrt, cos, exp) are CUDA's, so a
// value may differ from NumPy's in its last bit (CuPy's array code uses the same ones).
//
// The GPU step (engine/gpu/procedural.py) launches procedural_deliver once per step for all
// procedural projections, after the update and before the step ends. The work is the
// triples (spike, entry of the spike's gid interval, segment of the row: 4096 draws, or
// for bernoulli 4096 targets); one warp takes a triple and its 32 lanes walk the segment
// in draw order: lane l takes draws l, l + 32, ...; geometric skipping (bernoulli) draws
// 32 gaps at once and places them by a warp prefix sum, the positions the sequential walk
// of the array code reaches.
//
// The compiled CPU step (engine/cpu/procedural.py) builds this file as host C++: its warps
// have one lane (WARP_LANES, host_prelude.h), so deliver_segment walks a row in draw
// order, one synapse after another, as the array code adds them.
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

// Every field is 8 bytes wide, as engine/gpu/abi.py PROCEDURAL_ENTRY_DTYPE: one
// (projection, target family). counts[source]: out-degrees (fixed_out; nullptr: rule.n);
// exclude[source]: the target it may not reach, or -1 (nullptr: none);
// source_of[gid - pre_first]: the source index or -1 (nullptr: gid - pre_first itself);
// post_local[target]: the target's index in the family, or -1 where it is in another
// (nullptr: post_base + target); bits_half: the Feistel half width.
struct ProceduralEntry {
    RuleArgs rule;
    const int* counts;
    const int* exclude;
    const int* source_of;
    const int* post_local;
    real* ring;
    long long pre_first, post_base, n_slots, n_ports, n_local, port, bits_half;
};

#define FULL_WARP 0xFFFFFFFFu
#ifndef WARP_LANES
#define WARP_LANES 32
#endif
#define SEGMENT 4096ll        // engine/procedural.py SEGMENT
#define ORDINAL_BITS 13

__device__ __forceinline__ void deliver_synapse(const ProceduralEntry& e, unsigned int src,
                                                unsigned long long ordinal, long long target,
                                                real mult, long long step)
{
    const long long local = e.post_local ? (long long)e.post_local[target]
                                         : e.post_base + target;
    if (local < 0) return;
    const RuleArgs& rule = e.rule;
    const double w = rule_value(rule, rule.weight, PURPOSE_WEIGHT, src, ordinal);
    const double d = rule_value(rule, rule.delay, PURPOSE_DELAY, src, ordinal);
    const long long delay = (long long)floor(d * rule.steps_per_ms + 0.5);
    const long long slot = (step + delay) % e.n_slots;
    atomicAdd(e.ring + (slot * e.n_ports + e.port) * e.n_local + local, (real)w * mult);
}

// Segment `seg` of the synapses of source `src` of entry `e` (draws, or for bernoulli
// targets, [seg * SEGMENT, (seg + 1) * SEGMENT)), by the lanes of a warp (all must call).
__device__ void deliver_segment(const ProceduralEntry& e, unsigned int src, long long seg,
                                real mult, long long step, int lane)
{
    const RuleArgs& rule = e.rule;
    const long long ex = e.exclude ? (long long)e.exclude[src] : -1;
    const long long first = seg * SEGMENT;
    if (rule.kind == RULE_BERNOULLI) {
        if (first >= rule.n_post) return;
        const long long length = min((long long)SEGMENT, rule.n_post - first);
        long long last = -1;
        for (unsigned int base = 0;; base += WARP_LANES) {
            const unsigned int k = base + (unsigned int)lane;
            const Philox4 w = philox4x32_10(src, PURPOSE_CONNECT, k, (unsigned int)seg,
                                            (unsigned int)rule.key0, (unsigned int)rule.key1);
            const double gap = fmin(floor(log(uniform_from(w.v[0], w.v[1])) / rule.log_q),
                                    (double)SEGMENT);
            long long position = (long long)gap + 1;
            #pragma unroll
            for (int d = 1; d < WARP_LANES; d <<= 1) {
                const long long up = __shfl_up_sync(FULL_WARP, position, d);
                if (lane >= d) position += up;
            }
            position += last;
            if (position < length && first + position != ex)
                deliver_synapse(e, src, ((unsigned long long)seg << ORDINAL_BITS) + k,
                                first + position, mult, step);
            last = __shfl_sync(FULL_WARP, position, WARP_LANES - 1);
            if (last >= length) break;
        }
        return;
    }
    const long long length = rule.kind == RULE_ALL ? rule.n_post
                             : (e.counts ? (long long)e.counts[src] : rule.n);
    const long long stop = min(length, first + SEGMENT);
    if (first >= stop) return;
    const long long allowed = rule.n_post - (ex >= 0 ? 1 : 0);
    Philox4 perm_keys;
    if (rule.kind == RULE_FIXED_OUT && !rule.replace)
        perm_keys = philox4x32_10(src, PURPOSE_PERMUTATION, 0u, 0u, (unsigned int)rule.key0,
                                  (unsigned int)rule.key1);
    for (long long o = first + lane; o < stop; o += WARP_LANES) {
        const unsigned long long ordinal = (unsigned long long)o;
        long long target;
        if (rule.kind == RULE_ALL) {
            if (o == ex) continue;
            target = o;
        } else {
            if (rule.replace) {
                const Philox4 w = philox4x32_10(src, PURPOSE_CONNECT, (unsigned int)ordinal,
                                                0u, (unsigned int)rule.key0,
                                                (unsigned int)rule.key1);
                target = (long long)(((unsigned long long)w.v[0]
                                      * (unsigned long long)allowed) >> 32);
            } else {
                const int half = (int)e.bits_half;
                unsigned long long x = feistel(ordinal % (unsigned long long)allowed,
                                               perm_keys, half);
                while (x >= (unsigned long long)allowed) x = feistel(x, perm_keys, half);
                target = (long long)x;
            }
            if (ex >= 0 && target >= ex) ++target;
        }
        deliver_synapse(e, src, ordinal, target, mult, step);
    }
}

// The step's spike list (global ids, multiplicities, count) as the update wrote it;
// interval_of[gid]: the gid's interval, whose entries are
// iv_entries[iv_begin[iv] .. iv_begin[iv + 1]); max_k: the most entries of an interval;
// max_seg: the most segments of a row. A warp takes one (spike, entry, segment).
// The step is clock[0] (the launch comes before the step's end advances it). Needs
// blockDim.x a multiple of WARP_LANES.
extern "C" __global__ void procedural_deliver(
    const long long* __restrict__ clock, const int* __restrict__ spk_gid,
    const int* __restrict__ spk_mult, const int* __restrict__ spk_count,
    const int* __restrict__ interval_of, const int* __restrict__ iv_begin,
    const int* __restrict__ iv_entries, const ProceduralEntry* __restrict__ entries,
    const int max_k, const int max_seg)
{
    const int lane = threadIdx.x % WARP_LANES;
    const long long n_warps = ((long long)gridDim.x * blockDim.x) / WARP_LANES;
    const long long per_spike = (long long)max_k * max_seg;
    const long long items = (long long)(*spk_count) * per_spike;
    const long long step = clock[0];
    for (long long p = ((long long)blockIdx.x * blockDim.x + threadIdx.x) / WARP_LANES;
         p < items; p += n_warps) {
        const int s = (int)(p / per_spike);
        const long long rest = p - s * per_spike;
        const int k = (int)(rest / max_seg);
        const long long seg = rest - (long long)k * max_seg;
        const int gid = spk_gid[s];
        const int iv = interval_of[gid];
        const int first = iv_begin[iv];
        if (k >= iv_begin[iv + 1] - first) continue;
        const ProceduralEntry& e = entries[iv_entries[first + k]];
        const long long offset = (long long)gid - e.pre_first;
        const int source = e.source_of ? e.source_of[offset] : (int)offset;
        if (source < 0) continue;
        deliver_segment(e, (unsigned int)source, seg, (real)spk_mult[s], step, lane);
    }
}
