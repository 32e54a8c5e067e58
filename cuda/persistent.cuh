// The persistent step kernel (engine/kernels.py persistent_source, engine/gpu_step.py): one
// launch runs a whole chunk of steps. Per step: phase 1 updates every neuron (the fused
// family functions), a grid barrier, phase 2 samples recorded state and propagates the
// step's spikes, a grid barrier. The spike list is double-buffered by step parity, so
// phase 2 of step s can empty the list of step s + 1 without a third barrier. All blocks
// must be resident at once: the launch uses at most as many blocks as fit on the device.
#pragma once
#include "neurongpu_common.cuh"
#include "propagation.cuh"

// A state recorder's sampling (kernels.SAMPLER_DTYPE).
struct SamplerArgs {
    unsigned long long variable, local, buffer, first_row;
    long long n_rec, interval;
};

// Sense-reversing barrier over all blocks of the grid: bar[0] counts arrivals, bar[1] is
// the generation. Block-wide sync first, then one thread per block arrives and waits.
__device__ __forceinline__ void grid_barrier(unsigned int* bar, const unsigned int blocks)
{
    __syncthreads();
    if (threadIdx.x == 0) {
        volatile unsigned int* generation = bar + 1;
        const unsigned int g = *generation;
        __threadfence();
        if (atomicAdd(bar, 1u) == blocks - 1) {
            bar[0] = 0;
            __threadfence();
            atomicAdd(bar + 1, 1u);
        } else {
            while (*generation == g) {
            }
        }
        __threadfence();
    }
    __syncthreads();
}

__device__ __forceinline__ void sample_phase(const SamplerArgs* samplers, const int n_samplers,
                                             const long long step)
{
    const long long t = step + 1;
    const long long tid = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    const long long threads = (long long)gridDim.x * blockDim.x;
    for (int r = 0; r < n_samplers; ++r) {
        const SamplerArgs sa = samplers[r];
        if (t % sa.interval != 0) continue;
        const long long row = t / sa.interval - *(const long long*)sa.first_row;
        const real* variable = (const real*)sa.variable;
        const int* local = (const int*)sa.local;
        real* buffer = (real*)sa.buffer;
        for (long long j = tid; j < sa.n_rec; j += threads)
            buffer[row * sa.n_rec + j] = variable[local[j]];
    }
}

__device__ __forceinline__ void propagate_phase(const PropTable* tables, const int n_tables,
                                                const StepArgs& a, const long long step)
{
    deliver_list<false>(tables, n_tables, (const int*)a.spk_gid, (const int*)a.spk_mult,
                        *(volatile int*)a.spk_count, step, gridDim.x, blockIdx.x,
                        threadIdx.x, blockDim.x);
}
