// Propagation through plastic and stochastic synapse groups (engine/plasticity.py is the
// reference; engine/synapses/*.py declare the models).
//
// Each group is indexed by source: offsets (64-bit, one range per global neuron index)
// into `order`, the storage positions of the synapses sorted by source. Every spike of
// the step's spike list walks its range; the blocks of the fixed grid share the spikes as
// in delivery.cu's propagate. Parameters come as a table of pointers P with strides S
// (stride 0: one value for all synapses), all double; state arrays are double.
// The compiled CPU step (engine/cpu) builds this file as host C++ (host_prelude.h: one
// block of one thread, so every spike and synapse is visited in the reference's order).
#include "neurongpu_common.cuh"

#define PARAM(i, j) (P[i][(size_t)(j) * (size_t)S[i]])

// Calls f(s, position in order) for every spike s of the list and every synapse of its
// source, spread over the grid.
template <class F>
__device__ __forceinline__ void for_each_spike_synapse(
    const int count, const int* __restrict__ spk_gid, const long long* __restrict__ offsets,
    F& f)
{
    const int blocks = gridDim.x;
    int first, step_s, rank, sharing;
    if (count == 0) return;
    if (count <= blocks) {
        first = blockIdx.x % count;
        step_s = count + blocks;  // one spike per block
        rank = blockIdx.x / count;
        sharing = (blocks - 1 - first) / count + 1;
    } else {
        first = blockIdx.x;
        step_s = blocks;
        rank = 0;
        sharing = 1;
    }
    for (int s = first; s < count; s += step_s) {
        const int gid = spk_gid[s];
        const long long end = offsets[gid + 1];
        const long long stride = (long long)sharing * blockDim.x;
        for (long long k = offsets[gid] + (long long)rank * blockDim.x + threadIdx.x; k < end;
             k += stride)
            f(s, k);
    }
}

__device__ __forceinline__ double stamp_ms(const long long step, const long long tics_per_step)
{
    // as the reference: ((step + 1) * tics per step) / 1000
    return (double)((step + 1) * tics_per_step) / 1000.0;
}

__device__ __forceinline__ void add_to_ring(real* __restrict__ ring, const long long step,
                                            const int delay, const int n_slots,
                                            const int n_ports, const int port, const int n,
                                            const int target, const double value)
{
    const int slot = (int)((step + delay) % n_slots);
    atomicAdd(&ring[((size_t)slot * n_ports + port) * (size_t)n + target], (real)value);
}

// A group's arrays and its target family's ring buffer (every field 8 bytes wide:
// abi.GROUP_ARGS_DTYPE is the same layout).
struct GroupArgs {
    const long long* offsets;
    const long long* order;
    const int* target;
    const int* delay;
    real* weight;
    real* ring;
    long long n_slots, n_ports, port, n;
};

// ---------------------------------------------------------------------------------------
// Tsodyks-Markram (NEST tsodyks_synapse). P: U, tau_rec, tau_facil, tau_psc.
struct TsodyksMarkram {
    GroupArgs g;
    const double* const* P;
    const int* S;
    double *u, *x, *y, *t_last;
    const int* spk_mult;
    long long step;
    double t;
    __device__ void operator()(const int s, const long long k) {
        const long long j = g.order[k];
        const double tau_rec = PARAM(1, j), tau_facil = PARAM(2, j), tau_psc = PARAM(3, j);
        const double h = t - t_last[j];
        const double p_uu = tau_facil != 0.0 ? exp(-h / tau_facil) : 0.0;
        const double p_yy = exp(-h / tau_psc);
        const double p_zz = exp(-h / tau_rec);
        const double p_xy = ((p_zz - 1.0) * tau_rec - (p_yy - 1.0) * tau_psc)
            / (tau_psc - tau_rec);
        const double p_xz = 1.0 - p_zz;
        double uj = u[j], xj = x[j], yj = y[j];
        const double z = 1.0 - xj - yj;
        uj = uj * p_uu;
        xj = xj + p_xy * yj + p_xz * z;
        yj = yj * p_yy;
        uj = uj + PARAM(0, j) * (1.0 - uj);
        const double released = uj * xj;
        u[j] = uj;
        x[j] = xj - released;
        y[j] = yj + released;
        t_last[j] = t;
        add_to_ring(g.ring, step, g.delay[j], (int)g.n_slots, (int)g.n_ports, (int)g.port,
                    (int)g.n, g.target[j], (double)g.weight[j] * released * (double)spk_mult[s]);
    }
};

extern "C" __global__ void tsodyks_markram_propagate(
    const long long* __restrict__ clock, const int* __restrict__ spk_count,
    const int* __restrict__ spk_gid, const int* __restrict__ spk_mult,
    const GroupArgs* __restrict__ ga,
    const double* const* __restrict__ P, const int* __restrict__ S, double* u, double* x,
    double* y, double* t_last, const long long tics_per_step)
{
    const long long step = clock[0];
    const GroupArgs g = *ga;
    TsodyksMarkram f{g, P, S, u, x, y, t_last, spk_mult, step, stamp_ms(step, tics_per_step)};
    for_each_spike_synapse(*spk_count, spk_gid, g.offsets, f);
}

// ---------------------------------------------------------------------------------------
// Bernoulli synapse (NEST bernoulli_synapse). P: p. One uniform per copy of the spike,
// from the counter-based stream (seed, stream, synapse, step).
struct Bernoulli {
    GroupArgs g;
    const double* const* P;
    const int* S;
    const int* spk_mult;
    long long step;
    unsigned long long seed;
    unsigned int stream;
    __device__ void operator()(const int s, const long long k) {
        const long long j = g.order[k];
        RandomSeq rs(seed, stream, (unsigned int)j, (unsigned long long)step);
        const double p = PARAM(0, j);
        int transmitted = 0;
        for (int c = 0; c < spk_mult[s]; ++c)
            transmitted += (1.0 - rs.uniform()) < p;  // uniform in [0, 1)
        if (transmitted)
            add_to_ring(g.ring, step, g.delay[j], (int)g.n_slots, (int)g.n_ports,
                        (int)g.port, (int)g.n, g.target[j],
                        (double)g.weight[j] * transmitted);
    }
};

extern "C" __global__ void bernoulli_propagate(
    const long long* __restrict__ clock, const int* __restrict__ spk_count,
    const int* __restrict__ spk_gid, const int* __restrict__ spk_mult,
    const GroupArgs* __restrict__ ga,
    const double* const* __restrict__ P, const int* __restrict__ S,
    const unsigned long long seed, const unsigned int stream)
{
    const long long step = clock[0];
    const GroupArgs g = *ga;
    Bernoulli f{g, P, S, spk_mult, step, seed, stream};
    for_each_spike_synapse(*spk_count, spk_gid, g.offsets, f);
}

// ---------------------------------------------------------------------------------------
// STDP: the post-synaptic history (engine/synapses/post_history.py), one ring of
// `capacity` entries per post-synaptic neuron of the group.
struct History {
    double* times;     // [slot * capacity + position]
    double* kminus;
    long long* count;
    double* trace;
    double* last;
    double* evicted;
    int* overflow;
    long long capacity;
    double tau_minus;
};

#define STDP_EPS 1e-6

// x ** y as the reference's NumPy evaluates it: for an exponent shared by the group (stride
// 0) its power loop's exact special cases, else pow. The host build (engine/cpu) then gives
// the reference's weights to the bit wherever NumPy's pow is the C library's.
__device__ __forceinline__ double reference_pow(const double x, const double y,
                                                const bool shared)
{
    if (shared) {
        if (y == 0.5) return sqrt(x);
        if (y == 2.0) return x * x;
        if (y == -1.0) return 1.0 / x;
    }
    return pow(x, y);
}

// Append this step's spikes of the group's post-synaptic neurons (slot_of[gid] >= 0).
extern "C" __global__ void stdp_record_post(
    const long long* __restrict__ clock, const int* __restrict__ spk_count,
    const int* __restrict__ spk_gid, const int* __restrict__ spk_mult,
    const int* __restrict__ slot_of, const History* __restrict__ hp,
    const long long tics_per_step)
{
    const History h = *hp;
    const int count = *spk_count;
    const double t = stamp_ms(clock[0], tics_per_step);
    for (int s = blockIdx.x * blockDim.x + threadIdx.x; s < count;
         s += gridDim.x * blockDim.x) {
        const int p = slot_of[spk_gid[s]];
        if (p < 0) continue;
        const double trace = h.trace[p] * exp((h.last[p] - t) / h.tau_minus)
            + (double)spk_mult[s];
        const long long c = h.count[p];
        const size_t pos = (size_t)p * h.capacity + (size_t)(c % h.capacity);
        if (c >= h.capacity) h.evicted[p] = h.times[pos];
        h.times[pos] = t;
        h.kminus[pos] = trace;
        h.trace[p] = trace;
        h.last[p] = t;
        h.count[p] = c + 1;
    }
}

// Pair-based STDP (mode 0; P: tau_plus, tau_minus, A_plus, A_minus, w_min, w_max,
// mu_plus, mu_minus) or Vogels-Sprekeler (mode 1; P: tau, eta, rho, w_min, w_max), NEST's
// lazy update at each presynaptic spike: facilitation for the post-synaptic spikes seen
// since the last one, in order, then the presynaptic spike's own update.
struct PairSTDP {
    GroupArgs g;
    const double* const* P;
    const int* S;
    double *kplus, *t_last;
    const int* post_slot;
    History h;
    const int* spk_mult;
    long long step;
    double t, dt;
    int mode;

    __device__ double potentiate(const long long j, const double w, const double k) const {
        if (mode == 1) {
            const double w_new = w + PARAM(1, j) * k;
            return w_new < PARAM(4, j) ? w_new : PARAM(4, j);
        }
        const double w_max = PARAM(5, j);
        const double norm = w / w_max
            + PARAM(2, j) * reference_pow(1.0 - w / w_max, PARAM(6, j), S[6] == 0) * k;
        return norm < 1.0 ? norm * w_max : w_max;
    }

    __device__ double at_spike(const long long j, double w, const double k_minus) const {
        if (mode == 1) {
            const double alpha = 2.0 * PARAM(2, j) * PARAM(0, j) / 1000.0;
            w = potentiate(j, w, k_minus) - alpha * PARAM(1, j);
            return w > PARAM(3, j) ? w : PARAM(3, j);
        }
        const double w_max = PARAM(5, j), w_min = PARAM(4, j);
        const double w_new = (w / w_max - PARAM(3, j)
                              * reference_pow(w / w_max, PARAM(7, j), S[7] == 0) * k_minus)
            * w_max;
        return w_new > w_min ? w_new : w_min;
    }

    __device__ void operator()(const int s, const long long k) {
        const long long j = g.order[k];
        const double tau_plus = PARAM(0, j);
        const double tau_minus = mode == 1 ? PARAM(0, j) : PARAM(1, j);
        const double d = (double)g.delay[j] * dt;
        const double tl = t_last[j], kp = kplus[j];
        const double t1 = tl - d, t2 = t - d;
        const int p = post_slot[j];
        const long long c = h.count[p];
        const int n_valid = c < h.capacity ? (int)c : h.capacity;
        const size_t row = (size_t)p * h.capacity;
        // Entries are in time order. Walking back from the newest, stop at the first one
        // before the previous presynaptic spike (t1): the work is the post-synaptic spikes
        // since then, not the whole history. On the way, the newest entry before t2 gives
        // the depression trace.
        double k_minus = 0.0;
        bool found = false;
        int i = n_valid - 1;
        for (; i >= 0; --i) {
            const size_t pos = row + (size_t)((c - n_valid + i) % h.capacity);
            const double te = h.times[pos];
            if (!found && te < t2 - STDP_EPS) {
                k_minus = h.kminus[pos] * exp((te - t2) / tau_minus);
                found = true;
            }
            if (te < t1 + STDP_EPS) break;
        }
        double w = (double)g.weight[j];
        for (int m = i + 1; m < n_valid; ++m) {  // oldest first: t1 <= te < t2
            const double te = h.times[row + (size_t)((c - n_valid + m) % h.capacity)];
            if (te >= t2 + STDP_EPS) break;
            w = potentiate(j, w, kp * exp((tl - (te + d)) / tau_plus));
        }
        const double ev = h.evicted[p];
        if ((ev >= t1 + STDP_EPS && kp > 0.0) || (!(isinf(ev) && ev < 0.0) && !found))
            atomicOr(h.overflow, 1);
        w = at_spike(j, w, k_minus);
        g.weight[j] = (real)w;
        kplus[j] = kp * exp((tl - t) / tau_plus) + 1.0;
        t_last[j] = t;
        add_to_ring(g.ring, step, g.delay[j], (int)g.n_slots, (int)g.n_ports, (int)g.port,
                    (int)g.n, g.target[j], w * (double)spk_mult[s]);
    }
};

extern "C" __global__ void stdp_propagate(
    const long long* __restrict__ clock, const int* __restrict__ spk_count,
    const int* __restrict__ spk_gid, const int* __restrict__ spk_mult,
    const GroupArgs* __restrict__ ga,
    const double* const* __restrict__ P, const int* __restrict__ S, double* kplus,
    double* t_last, const int* __restrict__ post_slot, const History* __restrict__ hp,
    const long long tics_per_step, const double dt, const int mode)
{
    const long long step = clock[0];
    const GroupArgs g = *ga;
    const History h = *hp;
    PairSTDP f{g, P, S, kplus, t_last, post_slot, h, spk_mult, step,
               stamp_ms(step, tics_per_step), dt, mode};
    for_each_spike_synapse(*spk_count, spk_gid, g.offsets, f);
}
