// Finalisation of a target family's incoming-synapse table by counting sort
// (engine/construction.py): count_sources counts each source's synapses, a scan turns the
// counts into offsets, place_synapses moves every synapse to the next free position of
// its source. Synapse k of a group is `sel[k]` when `has_sel` (the group's synapses into
// this family), else k itself.
//
// Synapses of one source often come in runs (one-to-one, all-to-all, fixed out-degree), so
// the lanes of a warp that share a source add to its counter once: one atomic per source
// per warp, not per synapse. The warps loop in step (blockDim.x is a multiple of 32).
#include "neurongpu_common.cuh"

// Lanes of the warp whose `key` equals this lane's; this lane's rank among them.
__device__ __forceinline__ unsigned int peers_of(const int key, int& rank)
{
    const unsigned int peers = __match_any_sync(0xffffffffu, key);
    const unsigned int lane = threadIdx.x & 31u;
    rank = __popc(peers & ((1u << lane) - 1u));
    return peers;
}

// Adds this lane's share (1) to counter[key] with one atomic per group of peers; returns
// the counter's value before this lane's unit (a slot of its own).
__device__ __forceinline__ unsigned long long aggregated_increment(
    unsigned long long* counter, const int key, const bool valid)
{
    int rank;
    const unsigned int peers = peers_of(valid ? key : -1, rank);
    const int leader = __ffs(peers) - 1;
    unsigned long long base = 0;
    if (valid && (int)(threadIdx.x & 31u) == leader)
        base = atomicAdd(&counter[key], (unsigned long long)__popc(peers));
    base = __shfl_sync(0xffffffffu, base, leader);
    return base + (unsigned long long)rank;
}

extern "C" __global__ void count_sources(
    const int* __restrict__ pre, const long long* __restrict__ sel, const int has_sel,
    const long long n, unsigned long long* __restrict__ counts)
{
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k - (threadIdx.x & 31u) < n;
         k += stride) {
        const bool valid = k < n;
        const int source = valid ? pre[has_sel ? sel[k] : k] : -1;
        aggregated_increment(counts, source, valid);
    }
}

// Packed layout (packed != 0): meta = target | port << tbits | delay << (tbits + pbits).
extern "C" __global__ void place_synapses(
    const int* __restrict__ pre, const int* __restrict__ post,
    const real* __restrict__ weight_in, const int* __restrict__ delay_in,
    const long long* __restrict__ sel, const int has_sel, const long long n,
    const int* __restrict__ gid_local, const int port, long long* __restrict__ cursor,
    const int packed, const int tbits, const int pbits, real* __restrict__ weight,
    unsigned int* __restrict__ meta, int* __restrict__ target, int* __restrict__ delay,
    signed char* __restrict__ port_out)
{
    const long long stride = (long long)gridDim.x * blockDim.x;
    for (long long k = blockIdx.x * (long long)blockDim.x + threadIdx.x; k - (threadIdx.x & 31u) < n;
         k += stride) {
        const bool valid = k < n;
        const long long s = valid ? (has_sel ? sel[k] : k) : 0;
        const unsigned long long pos = aggregated_increment(
            (unsigned long long*)cursor, valid ? pre[s] : -1, valid);
        if (!valid) continue;
        const int t = gid_local[post[s]];
        weight[pos] = weight_in[s];
        if (packed) {
            meta[pos] = (unsigned int)t | ((unsigned int)port << tbits)
                        | ((unsigned int)delay_in[s] << (tbits + pbits));
        } else {
            target[pos] = t;
            delay[pos] = delay_in[s];
            port_out[pos] = (signed char)port;
        }
    }
}
