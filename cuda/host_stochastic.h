// Stochastic synapses in the compiled CPU step (pyNN_neurongpu/engine/cpu/plastic.py): the
// reference's SimpleStochastic, StochasticTsodyksMarkram and MultiQuantal
// (engine/synapses/stochastic.py, quantal.py) in its operations, drawing from the group's
// own NumPy stream as the reference does. How many numbers the reference draws depends on
// the spikes and the synapses' state, so they cannot be drawn ahead in array code: the
// stream is NumPy's PCG64 (a 128-bit LCG with the XSL-RR output), continued here from the
// state array code hands over before a block and takes back after it; a uniform is
// NumPy's random(), the top 53 bits of an output. Each step the reference draws rounds of
// n numbers for the n synapses of the step's spikes (in spike list order, each spike's in
// the group's order: synapse q of the step), number r * n + q being round r's for synapse
// q; so does this code. Needs plastic_synapses.cu (GroupArgs, PARAM, stamp_ms).
#pragma once
#include <vector>

// NumPy's PCG64: words [state low, state high, increment low, increment high]
struct Pcg64Stream {
    unsigned long long* words;
    void uniforms(double* out, const long long count) {
        typedef unsigned __int128 u128;
        const u128 mult = ((u128)0x2360ED051FC65DA4ull << 64) | 0x4385DF649FCCF645ull;
        const u128 inc = ((u128)words[3] << 64) | words[2];
        u128 s = ((u128)words[1] << 64) | words[0];
        for (long long k = 0; k < count; ++k) {
            s = s * mult + inc;
            const unsigned long long x = (unsigned long long)(s >> 64) ^ (unsigned long long)s;
            const unsigned int rot = (unsigned int)(s >> 122);
            const unsigned long long r = (x >> rot) | (x << ((64 - rot) & 63));
            out[k] = (double)(r >> 11) * (1.0 / 9007199254740992.0);
        }
        words[0] = (unsigned long long)s;
        words[1] = (unsigned long long)(s >> 64);
    }
};

// What a stochastic group's step needs besides its records: the step's synapses and
// draws (kept between steps, so that a run allocates them once)
struct StochasticScratch {
    std::vector<long long> syn;   // storage position of synapse q
    std::vector<int> mult;        // its spike's multiplicity
    std::vector<double> draws, u, p;
    std::vector<long long> trials;
};

// kind 2: SimpleStochastic, 3: StochasticTsodyksMarkram (s0..s3: u, R, t_surv, t_last),
// 4: MultiQuantal (s0..s2: u, a, t_last). `families`: one GroupArgs per target family (the
// group's whole index in each; its own ring), `fam_of` the family of each synapse (null:
// one family).
struct StochasticGroup {
    const GroupArgs* families;
    const int* fam_of;
    const double* const* P;
    const int* S;
    double *s0, *s1, *s2, *s3;
    Pcg64Stream rng;
    long long kind, step;
    double t;

    void deliver(const long long j, const double value) const {
        const GroupArgs& g = families[fam_of ? fam_of[j] : 0];
        add_to_ring(g.ring, step, g.delay[j], (int)g.n_slots, (int)g.n_ports, (int)g.port,
                    (int)g.n, g.target[j], value);
    }

    // rounds of n numbers, as the reference's rounds of rng.uniform(n)
    const double* draw(StochasticScratch& w, const long long rounds, const long long n) {
        w.draws.resize((size_t)(rounds * n) + 1);
        rng.uniforms(w.draws.data(), rounds * n);
        return w.draws.data();
    }

    void simple(StochasticScratch& w, const long long n) {
        int rounds = 0;   // as NEST: one draw per copy of the spike
        for (long long q = 0; q < n; ++q) rounds = w.mult[q] > rounds ? w.mult[q] : rounds;
        const double* d = draw(w, rounds, n);
        const GroupArgs& g = families[0];
        for (long long q = 0; q < n; ++q) {
            const long long j = w.syn[q];
            const double p = PARAM(0, j);
            long long transmitted = 0;
            for (int c = 0; c < w.mult[q]; ++c) transmitted += d[c * n + q] < p;
            if (transmitted) deliver(j, (double)g.weight[j] * (double)transmitted);
        }
    }

    void tsodyks_markram(StochasticScratch& w, const long long n) {
        const double* d = draw(w, 2, n);   // recoveries, then releases
        const GroupArgs& g = families[0];
        double *const u = s0, *const R = s1, *const t_surv = s2, *const t_last = s3;
        for (long long q = 0; q < n; ++q) {
            const long long j = w.syn[q];
            const double big_u = PARAM(0, j), tau_facil = PARAM(2, j);
            const bool facilitating = tau_facil > 1e-10;
            const double decay = exp(-(t - t_last[j]) / (facilitating ? tau_facil : 1.0));
            const double u_old = u[j];
            const double u_new = facilitating ? u_old * decay + big_u * (1.0 - u_old * decay)
                                              : big_u;
            const bool recovered = R[j] > 0;
            double ts = t_surv[j];
            const double survives = exp(-(t - ts) / PARAM(1, j));
            const bool recovers = !recovered && d[q] > survives;
            if (!recovered && !recovers) ts = t;
            const bool ready = recovered || recovers;
            const bool released = ready && d[n + q] < u_new;
            u[j] = u_new;
            R[j] = released ? 0.0 : (ready ? 1.0 : 0.0);
            t_surv[j] = released ? t : ts;
            t_last[j] = t;
            if (released) deliver(j, (double)g.weight[j] * (double)w.mult[q]);
        }
    }

    void multi_quantal(StochasticScratch& w, const long long n) {
        double *const u = s0, *const a = s1, *const t_last = s2;
        w.u.resize((size_t)n);
        w.p.resize((size_t)n);
        w.trials.resize((size_t)(2 * n));
        long long* const avail = w.trials.data();
        long long* const depleted = avail + n;
        long long rounds = 0;
        for (long long q = 0; q < n; ++q) {
            const long long j = w.syn[q];
            const bool seen = t_last[j] >= 0.0;   // nothing is updated at the first spike
            const double h = t - t_last[j];
            const double big_u = PARAM(0, j), tau_facil = PARAM(3, j);
            const double u_decay = tau_facil >= 1e-10 ? exp(-h / tau_facil) : 0.0;
            w.u[q] = seen ? big_u + u[j] * (1.0 - big_u) * u_decay : u[j];
            avail[q] = (long long)a[j];
            const double missing = PARAM(1, j) - (double)avail[q];
            depleted[q] = seen ? (long long)(missing > 0.0 ? missing : 0.0) : 0;
            w.p[q] = 1.0 - exp(-h / PARAM(2, j));
            rounds = depleted[q] > rounds ? depleted[q] : rounds;
        }
        const double* d = draw(w, rounds, n);   // recoveries of depleted sites
        long long releases = 0;
        for (long long q = 0; q < n; ++q) {
            for (long long k = 0; k < depleted[q]; ++k) avail[q] += d[k * n + q] < w.p[q];
            releases = avail[q] > releases ? avail[q] : releases;
        }
        d = draw(w, releases, n);                // releases of available sites
        const GroupArgs& g = families[0];
        for (long long q = 0; q < n; ++q) {
            const long long j = w.syn[q];
            long long released = 0;
            for (long long k = 0; k < avail[q]; ++k) released += d[k * n + q] < w.u[q];
            u[j] = w.u[q];
            a[j] = (double)(avail[q] - released);
            t_last[j] = t;
            if (released)
                deliver(j, (double)g.weight[j] * (double)released * (double)w.mult[q]);
        }
    }

    // the step's spikes through the group (PlasticGroup.deliver with the model's transmit)
    void propagate(const int count, const int* gid, const int* mult, StochasticScratch& w) {
        const GroupArgs& g = families[0];
        w.syn.clear();
        w.mult.clear();
        for (int s = 0; s < count; ++s)
            for (long long k = g.offsets[gid[s]]; k < g.offsets[gid[s] + 1]; ++k) {
                w.syn.push_back(g.order[k]);
                w.mult.push_back(mult[s]);
            }
        const long long n = (long long)w.syn.size();
        if (n == 0) return;   // the reference draws nothing either
        if (kind == 2) simple(w, n);
        else if (kind == 3) tsodyks_markram(w, n);
        else multi_quantal(w, n);
    }
};
