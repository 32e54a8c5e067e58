// The compiled CPU engine's loop over a chunk of steps (pyNN_neurongpu/engine/cpu): the
// reference step's order (engine/reference_step.py): every family in turn updates its
// neurons (the families' generated device functions, as the GPU's fused kernel has them),
// appending spikes to the step's list in family order and index order; recorded spikes and
// state samples are written to the chunk's buffers; then each target family's table
// delivers the step's spikes into its ring buffer, spike by spike, synapse by synapse, so
// every float addition happens in the order of the reference's scatter-add; then the
// procedural projections regenerate their synapses (cuda/procedural.cu) and each plastic
// group runs its GPU kernel (cuda/plastic_synapses.cu), a stochastic group the reference's
// update (host_stochastic.h), on the step's spike list. Under MPI the steps deliver
// nothing: their spikes go to the interval's exchange, and deliver_spikes delivers what it
// returns.
// Needs FamilyArgs (generated), plastic_synapses.cu, procedural.cu and host_prelude.h; the
// generated source defines update_family() and check_family() and includes this file once.
#pragma once
#include <vector>
#include "host_stochastic.h"

// What array code drew for one step of a random source family from the reference's NumPy
// stream (the model's draws(), engine/cpu/step.py): uniforms priming the state at a run's
// first update [n_prime][n], real numbers [n_real][n] and counts [n].
struct StepDraws {
    const double* prime;
    const double* real;
    const int* count;
    long long n, n_prime, n_real;
};

// the step's spike list (the GPU's SPIKE_LIST and StepArgs, on the host), and the draws of
// the family being updated
struct StepArgs {
    int* gid;
    int* mult;
    int* count;
    StepDraws draws;
};
#define SPIKE_LIST(args, step) (*(args))

// The fragments' `rng` on the host: neuron i's numbers of the step, in the order the
// reference update uses them, so the trains are the reference's. Past the last real
// number, infinity: the reference update draws no more in that step.
struct HostRandom {
    const StepDraws& d;
    const long long i;
    long long primes = 0, reals = 0;
    HostRandom(const StepDraws& draws, const long long index) : d(draws), i(index) {}
    double uniform() { return primes < d.n_prime ? d.prime[primes++ * d.n + i] : NAN; }
    double exponential() { return reals < d.n_real ? d.real[reals++ * d.n + i] : INFINITY; }
};
static inline int poisson_count(HostRandom& r, double) { return r.d.count[r.i]; }

static inline void finish_spike(const FamilyArgs& f, const StepArgs& a, const int i,
                                const int gid, const int n_spikes, const long long step)
{
    const int k = (*a.count)++;
    a.gid[k] = gid;
    a.mult[k] = n_spikes;
    if (((const unsigned char*)f.recorded)[i]) {
        const int r = (*(int*)f.rec_count)++;
        ((int*)f.rec_step)[r] = (int)step;
        ((int*)f.rec_local)[r] = i;
        ((int*)f.rec_mult)[r] = n_spikes;
    }
}

// Per family: where the spikes of a source family come from (counts, int32 [steps, n],
// drawn by the model's update_block in array code), and the chunk's injected currents
// (stim_block, real [steps, n]; 0: none); for a generated update that draws, the chunk's
// draws (prime [n_prime][n] for its first step, real [steps][n_real][n], counts). All
// fields 8 bytes (engine/cpu/step.py).
struct HostFamily {
    unsigned long long counts, stim_block, prime, real;
    long long kind;   // 0: generated update, 1: counts
    long long n_prime, n_real;
};

// A target family's incoming static synapses and its ring buffer (abi.PROP_TABLE_DTYPE)
struct HostTable {
    unsigned long long offsets, meta, target, weight, delay, port, ring;
    long long tbits, pbits, n_slots, n_ports, n;
};

// A recorded state variable: samples at steps that are multiples of interval
struct HostSampler {
    unsigned long long values, local, out;
    long long n_rec, interval, first_row;
};

// A plastic group's synapses onto one target family (engine/cpu/plastic.py): its kernel's
// arguments. kind 0: Tsodyks-Markram (state s0..s3: u, x, y, t_last); 1: pair STDP of
// `mode` (s0, s1: Kplus, t_last), which first records the group's post-synaptic spikes
// where record_post (once per group); 2 to 4: a stochastic group onto all its families
// (StochasticGroup: group points to one GroupArgs per family, fam_of, rng its stream).
struct HostPlastic {
    unsigned long long group, P, S, s0, s1, s2, s3, slot_of, post_slot, history, rng, fam_of;
    long long kind, mode, record_post, tics;
};

// The procedural projections' tables (engine/gpu/procedural.py entry_tables, as the GPU's
// procedural_deliver reads them); n_entries 0: none
struct HostProcedural {
    unsigned long long interval_of, iv_begin, iv_entries, entries;
    long long n_entries, max_seg;
};

// first_row: the row of the block's counts and currents that step first_step takes;
// deliver 0 (under MPI): each step's spikes are appended to ex_step/ex_gid/ex_mult (count
// in *ex_count) for the interval's exchange, and delivered after it (deliver_spikes)
struct RunArgs {
    unsigned long long fams, host, tables, samplers, plastic, procedural, spk_gid, spk_mult,
        zero_stim, ex_step, ex_gid, ex_mult, ex_count;
    long long n_fams, n_tables, n_samplers, n_plastic, first_step, n_steps, first_row, check,
        deliver;
    double dt;
};

static void update_family(int k, const FamilyArgs& f, long long step, double dt,
                          const StepArgs* a);
static bool check_family(int k, const FamilyArgs& f);

static inline void deliver(const HostTable& t, const int* gid, const int* mult,
                           const int n_spikes, const long long step)
{
    const SynapseTable tab{(const long long*)t.offsets, (const unsigned int*)t.meta,
                           (const int*)t.target, (const real*)t.weight, (const int*)t.delay,
                           (const signed char*)t.port, (int)t.tbits, (int)t.pbits};
    real* const ring = (real*)t.ring;
    const long long n = t.n, n_ports = t.n_ports, n_slots = t.n_slots;
    for (int q = 0; q < n_spikes; ++q) {
        const long long beg = tab.offsets[gid[q]], end = tab.offsets[gid[q] + 1];
        const real m = (real)mult[q];
        for (long long k = beg; k < end; ++k) {
            int target, delay, port;
            tab.get(k, target, delay, port);
            const long long slot = (step + delay) % n_slots;
            ring[(slot * n_ports + port) * n + target] += tab.weight[k] * m;
        }
    }
}

// The reference's order (ProceduralGroup.deliver, projection after projection): the
// (entry, spike) pairs sorted by entry, whose order is the projections', each entry's
// spikes in the list's order; deliver_segment then walks each row in draw order.
static void deliver_procedural(const HostProcedural& p, const int* gid, const int* mult,
                               const int n_spikes, const long long step,
                               std::vector<unsigned long long>& pairs)
{
    const int* const interval_of = (const int*)p.interval_of;
    const int* const iv_begin = (const int*)p.iv_begin;
    const int* const iv_entries = (const int*)p.iv_entries;
    const ProceduralEntry* const entries = (const ProceduralEntry*)p.entries;
    pairs.clear();
    for (int s = 0; s < n_spikes; ++s) {
        const int iv = interval_of[gid[s]];
        for (int k = iv_begin[iv]; k < iv_begin[iv + 1]; ++k)
            pairs.push_back(((unsigned long long)iv_entries[k] << 32) | (unsigned int)s);
    }
    std::sort(pairs.begin(), pairs.end());
    for (const unsigned long long pair : pairs) {
        const ProceduralEntry& e = entries[pair >> 32];
        const int s = (int)(pair & 0xFFFFFFFFull);
        const long long offset = (long long)gid[s] - e.pre_first;
        const int source = e.source_of ? e.source_of[offset] : (int)offset;
        if (source < 0) continue;
        for (long long seg = 0; seg < p.max_seg; ++seg)
            deliver_segment(e, (unsigned int)source, seg, (real)mult[s], step, 0);
    }
}

static inline void propagate_plastic(const HostPlastic& p, const StepArgs& sa,
                                     const long long step, const double dt,
                                     StochasticScratch& scratch)
{
    const long long clock = step;
    const GroupArgs* const g = (const GroupArgs*)p.group;
    const double* const* const P = (const double* const*)p.P;
    const int* const S = (const int*)p.S;
    if (p.kind >= 2) {
        StochasticGroup sg{g, (const int*)p.fam_of, P, S, (double*)p.s0, (double*)p.s1,
                           (double*)p.s2, (double*)p.s3,
                           Pcg64Stream{(unsigned long long*)p.rng}, p.kind, step,
                           stamp_ms(step, p.tics)};
        sg.propagate(*sa.count, sa.gid, sa.mult, scratch);
        return;
    }
    if (p.kind == 0) {
        tsodyks_markram_propagate(&clock, sa.count, sa.gid, sa.mult, g, P, S, (double*)p.s0,
                                  (double*)p.s1, (double*)p.s2, (double*)p.s3, p.tics);
        return;
    }
    const History* const h = (const History*)p.history;
    if (p.record_post)
        stdp_record_post(&clock, sa.count, sa.gid, sa.mult, (const int*)p.slot_of, h, p.tics);
    stdp_propagate(&clock, sa.count, sa.gid, sa.mult, g, P, S, (double*)p.s0, (double*)p.s1,
                   (const int*)p.post_slot, h, p.tics, dt, (int)p.mode);
}

// The delivery of step `step`'s spike list: static tables, procedural projections, plastic
// groups, in the reference's order (reference_step._deliver).
static void deliver_step(const RunArgs* args, const StepArgs& sa, const long long step,
                         std::vector<unsigned long long>& pairs, StochasticScratch& scratch)
{
    const HostTable* const tables = (const HostTable*)args->tables;
    const HostPlastic* const plastic = (const HostPlastic*)args->plastic;
    const HostProcedural* const procedural = (const HostProcedural*)args->procedural;
    const int count = *sa.count;
    for (int t = 0; t < args->n_tables; ++t)
        deliver(tables[t], sa.gid, sa.mult, count, step);
    if (procedural->n_entries)
        deliver_procedural(*procedural, sa.gid, sa.mult, count, step, pairs);
    for (int t = 0; t < args->n_plastic; ++t)
        propagate_plastic(plastic[t], sa, step, args->dt, scratch);
}

// Runs args->n_steps steps from args->first_step; returns the number of steps run, negated
// where the state check failed after the last of them.
extern "C" long long run_steps(const RunArgs* args)
{
    FamilyArgs* const fams = (FamilyArgs*)args->fams;
    const HostFamily* const host = (const HostFamily*)args->host;
    const HostSampler* const samplers = (const HostSampler*)args->samplers;
    std::vector<unsigned long long> pairs;
    int count = 0;
    StepArgs sa{(int*)args->spk_gid, (int*)args->spk_mult, &count, {}};
    StochasticScratch scratch;
    for (long long k = 0; k < args->n_steps; ++k) {
        const long long step = args->first_step + k, block_row = args->first_row + k;
        count = 0;
        for (int j = 0; j < args->n_fams; ++j) {
            FamilyArgs& f = fams[j];
            const HostFamily& h = host[j];
            if (h.kind == 1) {
                const int* row = (const int*)h.counts + block_row * f.n;
                const int* gids = (const int*)f.gids;
                for (int i = 0; i < f.n; ++i)
                    if (row[i] > 0) finish_spike(f, sa, i, gids[i], row[i], step);
                continue;
            }
            f.stim = h.stim_block ? (unsigned long long)((real*)h.stim_block + block_row * f.n)
                                  : args->zero_stim;
            sa.draws = {k == 0 ? (const double*)h.prime : nullptr,
                        (const double*)h.real + k * h.n_real * f.n,
                        h.counts ? (const int*)h.counts + k * f.n : nullptr, f.n,
                        k == 0 ? h.n_prime : 0, h.n_real};
            update_family(j, f, step, args->dt, &sa);
        }
        for (int r = 0; r < args->n_samplers; ++r) {
            const HostSampler& s = samplers[r];
            if ((step + 1) % s.interval != 0) continue;
            const real* values = (const real*)s.values;
            const long long* local = (const long long*)s.local;
            real* out = (real*)s.out + ((step + 1) / s.interval - s.first_row) * s.n_rec;
            for (long long c = 0; c < s.n_rec; ++c) out[c] = values[local[c]];
        }
        if (!args->deliver) {
            long long& n = *(long long*)args->ex_count;
            for (int q = 0; q < count; ++q, ++n) {
                ((int*)args->ex_step)[n] = (int)step;
                ((int*)args->ex_gid)[n] = sa.gid[q];
                ((int*)args->ex_mult)[n] = sa.mult[q];
            }
        } else if (count > 0) {
            deliver_step(args, sa, step, pairs, scratch);
        }
        if (args->check) {
            for (int j = 0; j < args->n_fams; ++j)
                if (host[j].kind == 0 && !check_family(j, fams[j])) return -(k + 1);
        }
    }
    return args->n_steps;
}

// Under MPI, after an interval's exchange: step steps[i]'s spikes, gid/mult[offsets[i] ..
// offsets[i + 1]) in the one-process order, delivered as that step's own delivery.
extern "C" void deliver_spikes(const RunArgs* args, const long long n_steps,
                               const long long* steps, const long long* offsets,
                               const int* gid, const int* mult)
{
    std::vector<unsigned long long> pairs;
    StochasticScratch scratch;
    for (long long i = 0; i < n_steps; ++i) {
        int count = (int)(offsets[i + 1] - offsets[i]);
        if (count == 0) continue;
        const StepArgs sa{(int*)gid + offsets[i], (int*)mult + offsets[i], &count, {}};
        deliver_step(args, sa, steps[i], pairs, scratch);
    }
}
