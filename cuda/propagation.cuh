// One spike's share of propagation, used by the propagate kernel (delivery.cu) and the
// persistent step kernel: `sharing` blocks walk spike s's synapses in one target family's
// table, this block being number `rank` of them, adding weight * multiplicity to each
// target's ring-buffer slot (step + delay) % n_slots.
#pragma once
#include "neurongpu_common.cuh"

__device__ __forceinline__ void deliver_spike(
    const int s, const int rank, const int sharing, const long long step,
    const int* __restrict__ spk_gid, const int* __restrict__ spk_mult, const SynapseTable& tab,
    real* __restrict__ ring, const int n_slots, const int n_ports, const int n)
{
    const int gid = spk_gid[s];
    const real m = (real)spk_mult[s];
    const long long end = tab.offsets[gid + 1];
    const long long stride = (long long)sharing * blockDim.x;
    const int now = (int)(step % n_slots);  // delays < n_slots: no division per synapse
    for (long long k = tab.offsets[gid] + (long long)rank * blockDim.x + threadIdx.x; k < end;
         k += stride) {
        int target, delay, port;
        tab.get(k, target, delay, port);
        const int slot = now + delay < n_slots ? now + delay : now + delay - n_slots;
        atomicAdd(&ring[((size_t)slot * n_ports + port) * (size_t)n + target], tab.weight[k] * m);
    }
}


// All `count` spikes of a spike list, spread over `blocks` blocks (this one is `block`):
// with few spikes, blocks b = s, s + count, ... share spike s; with many, block b takes
// spikes b, b + blocks, ...
__device__ __forceinline__ void deliver_spikes(
    const int count, const int blocks, const int block, const long long step,
    const int* __restrict__ spk_gid, const int* __restrict__ spk_mult, const SynapseTable& tab,
    real* __restrict__ ring, const int n_slots, const int n_ports, const int n)
{
    if (count == 0) return;
    if (count <= blocks) {
        const int s = block % count;
        const int sharing = (blocks - 1 - s) / count + 1;
        deliver_spike(s, block / count, sharing, step, spk_gid, spk_mult, tab, ring, n_slots,
                      n_ports, n);
    } else {
        for (int s = block; s < count; s += blocks)
            deliver_spike(s, 0, 1, step, spk_gid, spk_mult, tab, ring, n_slots, n_ports, n);
    }
}
