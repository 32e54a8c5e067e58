// One spike's share of propagation, used by the propagate kernel and the pipelined step's
// delivery kernel (delivery.cu): `sharing` groups of `width`
// threads walk spike s's synapses in one target family's table, this group being number
// `rank` of them and this thread its number `lane`, adding weight * multiplicity to each
// target's ring-buffer slot (step + delay) % n_slots.
#pragma once
#include "neurongpu_common.cuh"

// With `Batched`, a thread reads four synapses' table entries before it adds any (the
// delivery kernel's few threads, which run beside the update and need many reads in
// flight; two or one at a time measured slower there); else one synapse at a time (the
// propagate kernel's many threads: batching measured no faster there).
template <bool Batched>
__device__ __forceinline__ void deliver_spike(
    const int s, const int rank, const int sharing, const int lane, const int width,
    const long long step, const int* __restrict__ spk_gid, const int* __restrict__ spk_mult,
    const SynapseTable& tab, real* __restrict__ ring, const int n_slots, const int n_ports,
    const int n)
{
    const int gid = spk_gid[s];
    const real m = (real)spk_mult[s];
    const long long end = tab.offsets[gid + 1];
    const long long stride = (long long)sharing * width;
    const int now = (int)(step % n_slots);  // delays < n_slots: no division per synapse
    long long k = tab.offsets[gid] + (long long)rank * width + lane;
    // four synapses at a time, all table reads first (an atomic addition does not wait for
    // its result)
    constexpr int B = 4;
    for (; Batched && k + (B - 1) * stride < end; k += B * stride) {
        int target[B], delay[B], port[B];
        real w[B];
        #pragma unroll
        for (int j = 0; j < B; ++j) {
            tab.get(k + j * stride, target[j], delay[j], port[j]);
            w[j] = tab.weight[k + j * stride];
        }
        #pragma unroll
        for (int j = 0; j < B; ++j) {
            const int d = delay[j];
            const int slot = now + d < n_slots ? now + d : now + d - n_slots;
            atomicAdd(&ring[((size_t)slot * n_ports + port[j]) * (size_t)n + target[j]],
                      w[j] * m);
        }
    }
    for (; k < end; k += stride) {
        int target, delay, port;
        tab.get(k, target, delay, port);
        const int slot = now + delay < n_slots ? now + delay : now + delay - n_slots;
        atomicAdd(&ring[((size_t)slot * n_ports + port) * (size_t)n + target], tab.weight[k] * m);
    }
}


// All `count` spikes of a spike list, spread over `groups` groups of `width` threads (this
// thread is `lane` of group `group`): with few spikes, groups g = s, s + count, ... share
// spike s; with many, group g takes spikes g, g + groups, ...
template <bool Batched>
__device__ __forceinline__ void deliver_spikes(
    const int count, const int groups, const int group, const int lane, const int width,
    const long long step, const int* __restrict__ spk_gid, const int* __restrict__ spk_mult,
    const SynapseTable& tab, real* __restrict__ ring, const int n_slots, const int n_ports,
    const int n)
{
    if (count == 0) return;
    if (count <= groups) {
        const int s = group % count;
        const int sharing = (groups - 1 - s) / count + 1;
        deliver_spike<Batched>(s, group / count, sharing, lane, width, step, spk_gid,
                               spk_mult, tab, ring, n_slots, n_ports, n);
    } else {
        for (int s = group; s < count; s += groups)
            deliver_spike<Batched>(s, 0, 1, lane, width, step, spk_gid, spk_mult, tab, ring,
                                   n_slots, n_ports, n);
    }
}


// A target family's table and ring buffer, as the pipelined step's delivery kernel reads
// them. All fields are 8 bytes wide (engine/gpu/abi.py PROP_TABLE_DTYPE).
struct PropTable {
    unsigned long long offsets, meta, target, weight, delay, port, ring;
    long long tbits, pbits, n_slots, n_ports, n;
};

// A spike list of `count` spikes emitted at `step`, into every table, spread as in
// deliver_spikes.
template <bool Batched>
__device__ __forceinline__ void deliver_list(
    const PropTable* __restrict__ tables, const int n_tables, const int* __restrict__ spk_gid,
    const int* __restrict__ spk_mult, const int count, const long long step, const int groups,
    const int group, const int lane, const int width)
{
    for (int t = 0; t < n_tables; ++t) {
        const PropTable pt = tables[t];
        const SynapseTable tab{(const long long*)pt.offsets, (const unsigned int*)pt.meta,
                               (const int*)pt.target, (const real*)pt.weight,
                               (const int*)pt.delay, (const signed char*)pt.port,
                               (int)pt.tbits, (int)pt.pbits};
        deliver_spikes<Batched>(count, groups, group, lane, width, step, spk_gid, spk_mult,
                                tab, (real*)pt.ring, (int)pt.n_slots, (int)pt.n_ports,
                                (int)pt.n);
    }
}
