// spike_source_array: emit the spikes scheduled for this step. The schedule of the run
// holds one entry per spike, sorted by step; step_ptr[s - first_step] .. [s - first_step + 1]
// are this step's entries (a neuron scheduled twice in a step spikes twice). Spikes go to
// the spike list of the step's parity (the same list twice unless the run is pipelined).
#include "neurongpu_common.cuh"

extern "C" __global__ void spike_source_array_update(
    const long long* __restrict__ clock, const long long first_step, const long long n_steps,
    const long long* __restrict__ step_ptr, const int* __restrict__ sched_local,
    const int* __restrict__ gids,
    int* __restrict__ spk_gid, int* __restrict__ spk_mult, int* __restrict__ spk_count,
    int* __restrict__ odd_gid, int* __restrict__ odd_mult, int* __restrict__ odd_count,
    const unsigned char* __restrict__ recorded, int* __restrict__ rec_count,
    int* __restrict__ rec_step, int* __restrict__ rec_local, int* __restrict__ rec_mult,
    const int rec_capacity)
{
    const long long step = clock[0];
    const long long row = step - first_step;
    if (row < 0 || row >= n_steps) return;
    if (step & 1) {  // a pipelined run's odd steps have their own list (engine/gpu/step.py)
        spk_gid = odd_gid;
        spk_mult = odd_mult;
        spk_count = odd_count;
    }
    const long long beg = step_ptr[row], end = step_ptr[row + 1];
    for (long long k = beg + blockIdx.x * blockDim.x + threadIdx.x; k < end;
         k += (long long)gridDim.x * blockDim.x) {
        const int i = sched_local[k];
        emit_spike(spk_gid, spk_mult, spk_count, gids[i], 1);
        if (recorded[i]) record_spike(rec_count, rec_step, rec_local, rec_mult, rec_capacity,
                                      step, i, 1);
    }
}
