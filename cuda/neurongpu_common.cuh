// Shared device code of pyNN.neurongpu's kernels: counter-based random numbers and the
// spike list every neuron family appends to.
#pragma once

#ifndef NEURONGPU_REAL
#define NEURONGPU_REAL double
#endif
typedef NEURONGPU_REAL real;

// ---------------------------------------------------------------------------------------
// Philox4x32-10 (Salmon et al., SC'11): a counter-based generator, so a neuron's draw in a
// step depends only on (seed, stream, neuron, step) and never on thread layout.
struct Philox4 {
    unsigned int v[4];
};

__device__ __forceinline__ Philox4 philox4x32_10(unsigned int c0, unsigned int c1,
                                                 unsigned int c2, unsigned int c3,
                                                 unsigned int k0, unsigned int k1) {
    const unsigned int M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
    const unsigned int W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
    #pragma unroll
    for (int round = 0; round < 10; ++round) {
        const unsigned int hi0 = __umulhi(M0, c0), lo0 = M0 * c0;
        const unsigned int hi1 = __umulhi(M1, c2), lo1 = M1 * c2;
        const unsigned int n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
        k0 += W0; k1 += W1;
    }
    Philox4 r;
    r.v[0] = c0; r.v[1] = c1; r.v[2] = c2; r.v[3] = c3;
    return r;
}

// Uniform double in (0, 1] with 53 random bits from two 32-bit words.
__device__ __forceinline__ double uniform_from(unsigned int a, unsigned int b) {
    return ((double)(a >> 5) * 67108864.0 + (double)(b >> 6) + 1.0) * (1.0 / 9007199254740992.0);
}

// A stream of uniforms for one (seed, stream, index, step); `k` selects the draw.
struct RandomSeq {
    unsigned int key0, key1, c0, c1, c2;
    unsigned int counter;
    Philox4 block;
    int used;
    __device__ RandomSeq(unsigned long long seed, unsigned int stream, unsigned int index,
                         unsigned long long step)
        : key0((unsigned int)seed), key1((unsigned int)(seed >> 32) ^ stream), c0(index),
          c1((unsigned int)step), c2((unsigned int)(step >> 32)), counter(0), used(4) {}
    __device__ double uniform() {
        if (used >= 3) {
            block = philox4x32_10(c0, c1, c2, counter++, key0, key1);
            used = 0;
        }
        // select, not index: a runtime index would put the block in local memory
        const double u = used == 0 ? uniform_from(block.v[0], block.v[1])
                                   : uniform_from(block.v[2], block.v[3]);
        used += 2;
        return u;
    }
    // exponential with mean 1 (the fragments draw through it: on the host the reference's)
    __device__ double exponential() { return -log(uniform()); }
};

// Poisson-distributed count with mean `lam`: multiplication method for small means, a
// normal approximation (rounded, clipped at 0) for large ones.
__device__ __forceinline__ int poisson_count(RandomSeq& rs, double lam) {
    if (lam <= 0.0) return 0;
    if (lam < 30.0) {
        const double limit = exp(-lam);
        double prod = rs.uniform();
        int k = 0;
        while (prod > limit) {
            prod *= rs.uniform();
            ++k;
        }
        return k;
    }
    const double u1 = rs.uniform(), u2 = rs.uniform();
    const double z = sqrt(-2.0 * log(u1)) * cospi(2.0 * u2);
    const double k = floor(lam + sqrt(lam) * z + 0.5);
    return k < 0.0 ? 0 : (int)k;
}

// ---------------------------------------------------------------------------------------
// The step's spike list: every family appends (global index, multiplicity) of its spikes.
struct SpikeList {
    int* gid;
    int* mult;
    int* count;
};

__device__ __forceinline__ void emit_spike(int* spk_gid, int* spk_mult, int* spk_count,
                                           int gid, int mult) {
    const int k = atomicAdd(spk_count, 1);
    spk_gid[k] = gid;
    spk_mult[k] = mult;
}

// A target family's incoming synapses, grouped by source (engine/construction.py): with
// `meta`, target | port << tbits | delay << (tbits + pbits) packed in 32 bits; else
// separate target, delay and port arrays.
struct SynapseTable {
    const long long* __restrict__ offsets;
    const unsigned int* __restrict__ meta;
    const int* __restrict__ target;
    const real* __restrict__ weight;
    const int* __restrict__ delay;
    const signed char* __restrict__ port;
    int tbits, pbits;

    __device__ __forceinline__ void get(const long long k, int& t, int& d, int& p) const {
        if (meta != nullptr) {
            const unsigned int m = meta[k];
            t = (int)(m & ((1u << tbits) - 1u));
            p = (int)((m >> tbits) & ((1u << pbits) - 1u));
            d = (int)(m >> (tbits + pbits));
        } else {
            t = target[k];
            d = delay[k];
            p = port[k];
        }
    }
};

// A spike of a neuron with few outgoing synapses (at most max_degree, in the only target
// family's table) is delivered right away by the neuron's own thread, which keeps sources
// such as Poisson background generators out of the spike list. Returns false (the spike
// must go to the spike list) when direct delivery does not apply.
__device__ __forceinline__ bool deliver_direct(
    const int gid, const int mult, const long long step, const SynapseTable& tab,
    real* __restrict__ ring, const int n_slots, const int n_ports, const int n,
    const int max_degree)
{
    if (max_degree <= 0) return false;
    const long long beg = tab.offsets[gid], end = tab.offsets[gid + 1];
    if (end - beg > max_degree) return false;
    const real m = (real)mult;
    const int now = (int)(step % n_slots);
    for (long long k = beg; k < end; ++k) {
        int target, delay, port;
        tab.get(k, target, delay, port);
        const int slot = now + delay < n_slots ? now + delay : now + delay - n_slots;
        atomicAdd(&ring[((size_t)slot * n_ports + port) * (size_t)n + target], tab.weight[k] * m);
    }
    return true;
}

// Recorded spikes of a chunk of steps: (step, global index, multiplicity) triples.
__device__ __forceinline__ void record_spike(int* rec_count, int* rec_step, int* rec_gid,
                                             int* rec_mult, int capacity, long long step,
                                             int gid, int mult) {
    const int k = atomicAdd(rec_count, 1);
    if (k < capacity) {
        rec_step[k] = (int)step;
        rec_gid[k] = gid;
        rec_mult[k] = mult;
    }
}
