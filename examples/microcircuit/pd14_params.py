"""Parameters of the Potjans & Diesmann (2014) cortical microcircuit, and the
quantities derived from them for a network scaled down in size and in-degree.

Sources:
  Potjans TC, Diesmann M (2014) The cell-type specific cortical microcircuit:
  relating structure and activity in a full-scale spiking network model.
  Cerebral Cortex 24(3):785-806, doi:10.1093/cercor/bhs358 (Tables 4 and 5:
  population sizes, connection probabilities, external in-degrees, synapse,
  delay and neuron parameters, thalamic input).
  NEST's documentation of its PyNEST version of the model (pynest/examples/
  Potjans_2014): the scaling rules (synapse numbers proportional to N and K
  scaling, weights divided by sqrt(K scaling) with a compensating DC), the
  'optimized' initial membrane potentials and the full-scale mean rates used
  for that compensation.

Everything here is plain NumPy in PyNN's units (ms, mV, nA, nF, Hz); matrices
are indexed [target, source].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

POPULATIONS = ("L23E", "L23I", "L4E", "L4I", "L5E", "L5I", "L6E", "L6I")
EXCITATORY = np.array([name.endswith("E") for name in POPULATIONS])

N_FULL = np.array([20683, 5834, 21915, 5479, 4850, 1065, 14395, 2948])

CONN_PROBS = np.array([  # [target, source]
    [0.1009, 0.1689, 0.0437, 0.0818, 0.0323, 0.0, 0.0076, 0.0],
    [0.1346, 0.1371, 0.0316, 0.0515, 0.0755, 0.0, 0.0042, 0.0],
    [0.0077, 0.0059, 0.0497, 0.1350, 0.0067, 0.0003, 0.0453, 0.0],
    [0.0691, 0.0029, 0.0794, 0.1597, 0.0033, 0.0, 0.1057, 0.0],
    [0.1004, 0.0622, 0.0505, 0.0057, 0.0831, 0.3726, 0.0204, 0.0],
    [0.0548, 0.0269, 0.0257, 0.0022, 0.0600, 0.3158, 0.0086, 0.0],
    [0.0156, 0.0066, 0.0211, 0.0166, 0.0572, 0.0197, 0.0396, 0.2252],
    [0.0364, 0.0010, 0.0034, 0.0005, 0.0277, 0.0080, 0.0658, 0.1443],
])

K_EXT = np.array([1600, 1500, 2100, 1900, 2000, 1900, 2900, 2100])  # external in-degrees
BG_RATE = 8.0  # Hz per external input

# mean population rates of the full-scale model (Hz); only used to compensate, with
# a DC, the recurrent input lost when in-degrees are scaled down (the rates of NEST's
# reference run, as its network_params.py gives them since NEST 3.4)
FULL_MEAN_RATES = np.array([0.903, 2.965, 4.414, 5.876, 7.569, 8.633, 1.105, 7.829])

NEURON_PARAMS = {  # IF_curr_exp (NEST iaf_psc_exp)
    "tau_m": 10.0, "cm": 0.25, "v_rest": -65.0, "v_thresh": -50.0, "v_reset": -65.0,
    "tau_refrac": 2.0, "tau_syn_E": 0.5, "tau_syn_I": 0.5, "i_offset": 0.0,
}
TAU_SYN = 0.5


def psc_from_psp(psp, cm=NEURON_PARAMS["cm"], tau_m=NEURON_PARAMS["tau_m"], tau_syn=TAU_SYN):
    """Amplitude (nA) of the exponential PSC whose PSP peaks at `psp` (mV) in a neuron with
    capacitance `cm` (nF) and membrane time constant `tau_m` (ms), as the reference
    converts its PSPs."""
    # PSP(t) = J tau_m tau_syn / (cm (tau_m - tau_syn)) (exp(-t/tau_m) - exp(-t/tau_syn)),
    # largest where its derivative vanishes
    t_peak = tau_m * tau_syn / (tau_m - tau_syn) * np.log(tau_m / tau_syn)
    shape = (np.exp(-t_peak / tau_m) - np.exp(-t_peak / tau_syn)) * tau_m * tau_syn / (
        cm * (tau_m - tau_syn))
    return psp / shape


PSP_MEAN = 0.15  # mV
W_MEAN = psc_from_psp(PSP_MEAN)  # nA (87.81 pA)
W_REL_SD = 0.1
G = -4.0  # relative inhibitory strength
W_L4E_TO_L23E_FACTOR = 2.0

DELAY_EXC = 1.5  # ms
DELAY_INH = 0.75
DELAY_REL_SD = 0.5
# delays are drawn in ms and rounded to the nearest step; draws below half a step are
# redrawn, so that the shortest delay is one step (NEST's reference, since NEST 3.4)
DELAY_LOW_STEPS = 0.5
POISSON_DELAY = 1.5

V0_ORIGINAL = (-58.0, 10.0)  # mean, sd (mV) for every population
V0_OPTIMIZED = (  # per population; shortens the initial transient
    np.array([-68.28, -63.16, -63.33, -63.45, -63.11, -61.66, -66.72, -61.43]),
    np.array([5.36, 4.57, 4.74, 4.94, 4.94, 4.55, 5.46, 4.48]),
)

N_THALAMUS = 902
CONN_PROBS_TH = np.array([0.0, 0.0, 0.0983, 0.0619, 0.0, 0.0, 0.0512, 0.0196])
TH_RATE = 120.0  # Hz, during the pulse
TH_START = 700.0  # ms, start of the Poisson generator's window
TH_DURATION = 10.0
# the reference relays the generator's trains through its thalamic parrot neurons over
# NEST's default delay, 1 ms: the thalamic cells spike in (701 + dt, 711 + dt] ms
TH_RELAY_DELAY = 1.0
TH_DELAY = 1.5


def synapse_numbers(probs, n_target, n_source):
    """Total synapse numbers that give connection probabilities `probs` when sources and
    targets are drawn at random with replacement: ln(1 - p) / ln(1 - 1/(N_t N_s)).

    Evaluated as the reference evaluates it, ln(1 - p) / ln((N_t N_s - 1) / (N_t N_s)),
    so that the rounded numbers are the reference's to the synapse (the more accurate
    log1p form gives two synapses more at full scale)."""
    pairs = np.outer(np.asarray(n_target, float), np.asarray(n_source, float))
    return np.log(1.0 - np.asarray(probs)) / np.log((pairs - 1.0) / pairs)


def weight_matrix():
    """Mean PSC amplitudes (nA) of the full-scale model, [target, source]."""
    w = np.where(EXCITATORY, W_MEAN, G * W_MEAN) * np.ones((8, 1))
    w[POPULATIONS.index("L23E"), POPULATIONS.index("L4E")] *= W_L4E_TO_L23E_FACTOR
    return w


def delay_matrix():
    """Mean delays (ms) by source type, [target, source]."""
    return np.where(EXCITATORY, DELAY_EXC, DELAY_INH) * np.ones((8, 1))


@dataclass
class ScaledModel:
    """Numbers for a network with N scaled by `n_scale` and in-degrees by `k_scale`."""
    n_scale: float
    k_scale: float
    background: str  # 'poisson' or 'dc'
    n_neurons: np.ndarray  # per population
    n_synapses: np.ndarray  # [target, source], total numbers
    weights: np.ndarray  # [target, source], mean PSC amplitude, nA
    delays: np.ndarray  # [target, source], mean delay, ms
    k_ext: np.ndarray  # external in-degree per population (Poisson background)
    w_ext: float  # nA
    i_offset: np.ndarray  # DC per population, nA
    n_synapses_th: np.ndarray  # thalamus -> population
    w_th: float


def scaled_model(n_scale=1.0, k_scale=None, background="poisson"):
    """Derive population sizes, synapse numbers, weights and DC for a scaled network.

    Neuron numbers scale with `n_scale`; in-degrees with `k_scale` (default `n_scale`),
    so total synapse numbers scale with their product. When in-degrees shrink, weights
    grow by 1/sqrt(k_scale), which keeps the input variance, and a DC restores the lost
    mean input (computed from the full-scale rates). With background='dc' the external
    Poisson drive is replaced by its mean current.
    """
    if k_scale is None:
        k_scale = n_scale
    if not (0 < n_scale <= 1 and 0 < k_scale <= 1):
        raise ValueError("scale factors must lie in (0, 1]")
    if background not in ("poisson", "dc"):
        raise ValueError("background must be 'poisson' or 'dc'")
    full_synapses = synapse_numbers(CONN_PROBS, N_FULL, N_FULL)
    full_indegree = full_synapses / N_FULL[:, None]
    w_full = weight_matrix()
    sqrt_k = np.sqrt(k_scale)
    ms_to_s = 1e-3
    recurrent_mean = (w_full * full_indegree * FULL_MEAN_RATES).sum(axis=1)  # nA * Hz
    i_offset = ms_to_s * TAU_SYN * (1.0 - sqrt_k) * recurrent_mean
    external_mean = W_MEAN * K_EXT * BG_RATE
    if background == "dc":
        i_offset = i_offset + ms_to_s * TAU_SYN * external_mean
    else:
        i_offset = i_offset + ms_to_s * TAU_SYN * (1.0 - sqrt_k) * external_mean
    th_full = synapse_numbers(CONN_PROBS_TH[:, None], N_FULL, [N_THALAMUS])[:, 0]
    return ScaledModel(
        n_scale=n_scale, k_scale=k_scale, background=background,
        n_neurons=np.round(N_FULL * n_scale).astype(int),
        n_synapses=np.round(full_synapses * n_scale * k_scale).astype(int),
        weights=w_full / sqrt_k,
        delays=delay_matrix(),
        k_ext=np.round(K_EXT * k_scale).astype(int),
        w_ext=W_MEAN / sqrt_k,
        i_offset=i_offset,
        # the thalamus keeps its 902 cells; its in-degrees scale like the others
        n_synapses_th=np.round(th_full * n_scale * k_scale).astype(int),
        w_th=W_MEAN / sqrt_k,
    )
