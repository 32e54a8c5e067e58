// Spike propagation and the end of a step.
//
// propagate: every spike of this step (the spike list) walks its outgoing synapses in one
// target family's table (grouped by source; 64-bit offsets) and adds
// weight * multiplicity to the target's ring-buffer slot (step + delay) % n_slots.
// Work is spread over a fixed grid (so the launch can be captured in a CUDA graph): block b
// serves spike b % count, and the blocks that share a spike split its synapses.
#include "neurongpu_common.cuh"
#include "propagation.cuh"

// With `finish_step`, the last block to finish also ends the step (advances the clock and
// empties the spike list), which saves a launch; `blocks_done` counts finished blocks. The
// list is that of step clock + step_shift (-1: the last step of a pipelined run, whose
// spikes are still to be delivered; see engine/gpu/step.py).
extern "C" __global__ void propagate(
    long long* __restrict__ clock, const long long step_shift, int* __restrict__ spk_count,
    const int* __restrict__ spk_gid, const int* __restrict__ spk_mult,
    const long long* __restrict__ offsets, const unsigned int* __restrict__ meta,
    const int* __restrict__ target, const real* __restrict__ weight,
    const int* __restrict__ delay, const signed char* __restrict__ port, const int tbits,
    const int pbits, real* __restrict__ ring, const int n_slots, const int n_ports,
    const int n, unsigned int* __restrict__ blocks_done, const int finish_step)
{
    const SynapseTable tab{offsets, meta, target, weight, delay, port, tbits, pbits};
    const int count = *spk_count;
    const long long step = clock[0] + step_shift;
    const int blocks = gridDim.x;
    deliver_spikes<false>(count, blocks, blockIdx.x, threadIdx.x, blockDim.x, step, spk_gid,
                          spk_mult, tab, ring, n_slots, n_ports, n);
    if (!finish_step) return;
    __syncthreads();
    if (threadIdx.x == 0) {
        __threadfence();
        if (atomicAdd(blocks_done, 1u) == (unsigned int)blocks - 1) {
            // every block has read the clock and the spike count: end the step
            clock[0] = step + 1;
            *spk_count = 0;
            *blocks_done = 0;
            __threadfence();
        }
    }
}

// The spikes of the previous step (clock - 1), delivered into every table while this
// step's update runs, in a branch of the step's graph beside it (a pipelined run,
// engine/gpu/step.py). Each block is one group of threads; spike lists alternate by step parity.
extern "C" __global__ void deliver_previous_step(
    const long long* __restrict__ clock, const int* __restrict__ gid_even,
    const int* __restrict__ mult_even, const int* __restrict__ count_even,
    const int* __restrict__ gid_odd, const int* __restrict__ mult_odd,
    const int* __restrict__ count_odd, const PropTable* __restrict__ tables,
    const int n_tables)
{
    const long long step = clock[0] - 1;
    const bool odd = step & 1;
    deliver_list<true>(tables, n_tables, odd ? gid_odd : gid_even, odd ? mult_odd : mult_even,
                       *(odd ? count_odd : count_even), step, gridDim.x, blockIdx.x,
                       threadIdx.x, blockDim.x);
}

// The last launch of a step: advance the clock and empty the spike list.
extern "C" __global__ void end_step(long long* __restrict__ clock, int* __restrict__ spk_count)
{
    clock[0] += 1;
    spk_count[0] = 0;
}

// The last launch of a pipelined step (engine/gpu/step.py): advance the clock and empty the list
// of the previous step, whose spikes were delivered beside this step's update; the next
// step appends to it. (Done by the update's last block instead, it measured slower: every
// block of the update then waits for its writes to be visible before it retires.)
extern "C" __global__ void end_pipelined_step(long long* __restrict__ clock,
                                              int* __restrict__ count_even,
                                              int* __restrict__ count_odd)
{
    const long long step = clock[0];
    *((step & 1) ? count_even : count_odd) = 0;
    clock[0] = step + 1;
}

// Add injected currents for this step: pair j adds values[row * n_pairs + j] to
// stim[target[j]], row = step - first_step (the block of steps whose values were uploaded).
extern "C" __global__ void add_stimulus(
    const long long* __restrict__ clock, const long long* __restrict__ first_step,
    const real* __restrict__ values, const int* __restrict__ targets, const int n_pairs,
    real* __restrict__ stim)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n_pairs) return;
    const long long row = clock[0] - first_step[0];
    atomicAdd(&stim[targets[j]], values[row * n_pairs + j]);
}

// Sample a state variable of recorded neurons after the update of `step` (time step + 1).
extern "C" __global__ void sample_state(
    const long long* __restrict__ clock, const long long* __restrict__ first_row,
    const int interval, const real* __restrict__ variable, const int* __restrict__ local,
    const int n_rec, real* __restrict__ buffer)
{
    const int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= n_rec) return;
    const long long t = clock[0] + 1;
    if (t % interval != 0) return;
    const long long row = t / interval - first_row[0];
    buffer[row * n_rec + j] = variable[local[j]];
}
