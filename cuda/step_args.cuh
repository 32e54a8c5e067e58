// Arguments shared by every family's update in a step (read from device memory), and
// what happens to a neuron's spike: direct delivery or the spike list, and recording.
// Needs FamilyArgs (generated) and neurongpu_common.cuh. All fields are 8 bytes wide,
// matching engine/gpu/abi.py STEP_ARGS_DTYPE.
#pragma once

struct StepArgs {
    unsigned long long spk_gid, spk_mult, spk_count;
    unsigned long long d_offsets, d_meta, d_target, d_weight, d_delay, d_port, d_ring;
    long long d_slots, d_ports, d_n, d_max_degree, d_tbits, d_pbits;
};

__device__ __forceinline__ void finish_spike(const FamilyArgs& f, const StepArgs& a,
                                             const int i, const int gid, const int n_spikes,
                                             const long long step)
{
    const SynapseTable tab{(const long long*)a.d_offsets, (const unsigned int*)a.d_meta,
                           (const int*)a.d_target, (const real*)a.d_weight,
                           (const int*)a.d_delay, (const signed char*)a.d_port,
                           (int)a.d_tbits, (int)a.d_pbits};
    if (!deliver_direct(gid, n_spikes, step, tab, (real*)a.d_ring, (int)a.d_slots,
                        (int)a.d_ports, (int)a.d_n, (int)a.d_max_degree))
        emit_spike((int*)a.spk_gid, (int*)a.spk_mult, (int*)a.spk_count, gid, n_spikes);
    if (((const unsigned char*)f.recorded)[i])
        record_spike((int*)f.rec_count, (int*)f.rec_step, (int*)f.rec_local,
                     (int*)f.rec_mult, (int)f.rec_capacity, step, i, n_spikes);
}
