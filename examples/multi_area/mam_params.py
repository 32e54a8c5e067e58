"""Parameters of the multi-area model of macaque visual cortex (Schmidt et al. 2018), and
the quantities derived from them for a network of some of its areas, scaled down in size
and in-degree.

Sources:
  Schmidt M, Bakker R, Shen K, Bezgin G, Diesmann M, van Albada SJ (2018) A multi-scale
  layer-resolved spiking network model of resting-state dynamics in macaque visual
  cortical areas. PLoS Comput Biol 14(10):e1006359, doi:10.1371/journal.pcbi.1006359.
  Schmidt M, Bakker R, Hilgetag CC, Diesmann M, van Albada SJ (2018) Multi-scale account
  of the network structure of macaque visual cortex. Brain Struct Funct 223:1409-1435.
  The numbers (neuron numbers, stabilised in-degrees, external in-degrees, distances,
  full-scale rates) are the published model's (INM-6/multi-area-model), kept as tables in
  data/ with their provenance (data/PROVENANCE.md); the single-neuron, synapse, delay and
  input parameters below are its defaults (multiarea_model/default_params.py there).

Everything here is plain NumPy in PyNN's units (ms, mV, nA, nF, Hz); matrices are indexed
[target, source] over the simulated populations, in the order of :attr:`ScaledModel.labels`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from pyNN.errors import InvalidParameterValueError

DATA_DIR = Path(__file__).resolve().parent / "data"

NEURON_PARAMS = {  # IF_curr_exp (NEST iaf_psc_exp)
    "tau_m": 10.0, "cm": 0.25, "v_rest": -65.0, "v_thresh": -50.0, "v_reset": -65.0,
    "tau_refrac": 2.0, "tau_syn_E": 0.5, "tau_syn_I": 0.5, "i_offset": 0.0,
}
TAU_SYN = 0.5
V0 = (-150.0, 50.0)  # mean, sd (mV) of the initial membrane potentials (the model's)

PSP_E = 0.15  # mV, peak PSP of an excitatory synapse
PSP_L4E_TO_L23E = 0.3  # mV, within an area (twice the others, as in PD14)
PSP_EXT = 0.15  # mV, external (Poisson) input
G = -11.0  # relative inhibitory strength
W_REL_SD = 0.1

DELAY_EXC = 1.5  # ms, within an area
DELAY_INH = 0.75
DELAY_REL_SD = 0.5  # for the delays within and between areas
# delays are normal, redrawn below one time step (the model's rule) and, here, above
# mean + DELAY_SD_BOUND sd, so that setup() can be given a finite max_delay (pyNN.nest
# needs one); the draws this bound redraws are a fraction 1e-9 of all
DELAY_SD_BOUND = 6.0
SPEED = 3.5  # mm/ms (= m/s): inter-area delay = distance / SPEED
POISSON_DELAY = 1.0  # ms (NEST's default delay, which the model's Poisson input uses)
EXT_RATE = 10.0  # Hz per external input

# cortico-cortical weight factors: chi on every synapse between areas, chi_I in addition
# on those onto inhibitory populations (as the published code applies them)
STATES = {"ground": (1.0, 1.0), "metastable": (1.9, 2.0)}


def psc_from_psp(psp, cm=NEURON_PARAMS["cm"], tau_m=NEURON_PARAMS["tau_m"], tau_syn=TAU_SYN):
    """Amplitude (nA) of the exponential PSC whose PSP peaks at `psp` (mV)."""
    t_peak = tau_m * tau_syn / (tau_m - tau_syn) * np.log(tau_m / tau_syn)
    shape = (np.exp(-t_peak / tau_m) - np.exp(-t_peak / tau_syn)) * tau_m * tau_syn / (
        cm * (tau_m - tau_syn))
    return psp / shape


W_E = psc_from_psp(PSP_E)  # nA (87.81 pA)


def _read(name):
    with open(DATA_DIR / name) as f:
        return json.load(f)


@dataclass(frozen=True)
class Tables:
    """The full-scale model as the data files give it."""
    areas: tuple  # all 32, in the model's order
    labels: tuple  # (area, population) of the 254 populations with neurons
    n_neurons: np.ndarray  # per label (floats, as the data give them)
    indegrees: np.ndarray  # [target, source] over labels
    k_ext: np.ndarray  # external in-degree per label
    distances: dict  # [target area][source area], mm
    rates: np.ndarray  # full-scale rate per label (Hz), for the DC compensation


@lru_cache(maxsize=1)
def tables():
    """Read the data files (once)."""
    numbers = _read("neuron_numbers.json")
    k = _read("indegrees.json")
    k_ext = _read("external_indegrees.json")
    rates = _read("fullscale_rates.json")
    labels = tuple((a, p) for a in numbers["areas"] for p in numbers["structure"][a])
    if [f"{a}/{p}" for a, p in labels] != k["labels"]:
        raise ValueError("indegrees.json and neuron_numbers.json list different populations")
    return Tables(
        areas=tuple(numbers["areas"]), labels=labels,
        n_neurons=np.array([numbers["neuron_numbers"][a][p] for a, p in labels]),
        indegrees=np.array(k["K"], dtype=float),
        k_ext=np.array([k_ext[a][p] for a, p in labels]),
        distances=_read("distances.json"),
        rates=np.array([rates[a][p] for a, p in labels]),
    )


def full_weights(t, chi, chi_i):
    """Mean PSC amplitudes (nA) of the full-scale model, [target, source] over all labels."""
    area = np.array([a for a, _ in t.labels])
    pop = np.array([p for _, p in t.labels])
    excitatory_source = np.char.endswith(pop, "E")
    inhibitory_target = np.char.endswith(pop, "I")
    w = np.where(excitatory_source, W_E, G * W_E) * np.ones((len(pop), 1))
    same_area = area[:, None] == area[None, :]
    w[same_area & (pop[:, None] == "23E") & (pop[None, :] == "4E")] = psc_from_psp(
        PSP_L4E_TO_L23E)
    cc = ~same_area
    w[cc] *= chi
    w[cc & inhibitory_target[:, None]] *= chi_i
    return w


def delay_bound(mean):
    """Largest delay (ms) drawn for a connection of mean delay `mean`."""
    return mean * (1.0 + DELAY_SD_BOUND * DELAY_REL_SD)


@dataclass
class ScaledModel:
    """Numbers for the simulated areas, N scaled by `n_scale` and in-degrees by `k_scale`."""
    areas: tuple
    state: str
    chi: float
    chi_i: float
    n_scale: float
    k_scale: float
    background: str  # 'poisson' or 'dc'
    missing_areas: str  # input from areas not simulated: 'poisson' or 'none'
    labels: tuple  # (area, population) simulated
    n_neurons: np.ndarray  # per label
    n_synapses: np.ndarray  # [target, source], total numbers
    weights: np.ndarray  # [target, source], mean PSC amplitude, nA
    delays: np.ndarray  # [target, source], mean delay, ms
    max_delay: float  # ms, the upper bound of the delay draws (setup's max_delay)
    k_ext: np.ndarray  # external in-degree per label (scaled; not rounded: a rate)
    w_ext: float  # nA
    i_offset: np.ndarray  # DC per label, nA
    missing_rate: np.ndarray  # Hz: total rate of the input from areas not simulated
    missing_weight: np.ndarray  # nA, its weight (the cortico-cortical one of the target)

    @property
    def excitatory(self):
        return np.array([p.endswith("E") for _, p in self.labels])


def check_areas(areas):
    """The areas, validated against the model's list, in the model's order."""
    t = tables()
    if areas is None:
        return t.areas
    areas = list(areas)
    unknown = [a for a in areas if a not in t.areas]
    if unknown:
        raise InvalidParameterValueError(
            f"unknown area(s) {', '.join(map(str, unknown))}; the model's areas are "
            f"{', '.join(t.areas)}")
    if not areas:
        raise InvalidParameterValueError("no area to simulate")
    if len(set(areas)) != len(areas):
        raise InvalidParameterValueError(f"areas given twice in {areas}")
    return tuple(a for a in t.areas if a in areas)


def scaled_model(areas=None, n_scale=1.0, k_scale=None, state="ground", background="poisson",
                 missing_areas="poisson"):
    """Derive population sizes, synapse numbers, weights, delays and DC for a network of
    `areas` (default all 32).

    Neuron numbers are the model's times `n_scale` (truncated, as the model does);
    in-degrees are scaled by `k_scale` (default `n_scale`), so synapse numbers by the
    product. Weights grow by 1/sqrt(k_scale), which keeps the input variance, and a DC
    restores the mean input lost (computed from the full-scale rates and in-degrees of
    the whole model), the model's own downscaling rule. With background='dc' the external
    Poisson drive is replaced by its mean current. Input from areas left out is, with
    missing_areas='poisson', Poisson input at those areas' full-scale rates (the model's
    'het_poisson_stat'), with 'none' left out (the model's default).
    """
    if k_scale is None:
        k_scale = n_scale
    for name, value in (("scale", n_scale), ("k_scale", k_scale)):
        if not (isinstance(value, (int, float)) and 0 < value <= 1):
            raise InvalidParameterValueError(f"{name} must lie in (0, 1], not {value!r}")
    if state not in STATES:
        raise InvalidParameterValueError(
            f"state must be one of {', '.join(STATES)}, not {state!r}")
    if background not in ("poisson", "dc"):
        raise InvalidParameterValueError(
            f"background must be 'poisson' or 'dc', not {background!r}")
    if missing_areas not in ("poisson", "none"):
        raise InvalidParameterValueError(
            f"missing_areas must be 'poisson' or 'none', not {missing_areas!r}")
    areas = check_areas(areas)
    t = tables()
    chi, chi_i = STATES[state]
    simulated = np.array([a in areas for a, _ in t.labels])
    labels = tuple(lab for lab, s in zip(t.labels, simulated) if s)

    n_neurons = (t.n_neurons[simulated] * n_scale).astype(int)
    empty = [f"{a}/{p}" for (a, p), n in zip(labels, n_neurons) if n < 1]
    if empty:
        raise InvalidParameterValueError(
            f"scale {n_scale:g} leaves population(s) {', '.join(empty[:5])}"
            f"{' ...' if len(empty) > 5 else ''} without neurons; use a larger scale")

    w_full = full_weights(t, chi, chi_i)
    sqrt_k = np.sqrt(k_scale)
    ms_to_s = 1e-3
    recurrent_mean = (w_full * t.indegrees * t.rates[None, :]).sum(axis=1)  # nA * Hz
    external_mean = W_E * t.k_ext * EXT_RATE
    i_offset = ms_to_s * TAU_SYN * (1.0 - sqrt_k) * (recurrent_mean + external_mean)
    if background == "dc":  # the scaled Poisson drive's mean, sqrt(k) of the full one
        i_offset = i_offset + ms_to_s * TAU_SYN * sqrt_k * external_mean

    synapses_full = t.indegrees * t.n_neurons[:, None]
    sub = np.ix_(simulated, simulated)
    n_synapses = (synapses_full[sub] * n_scale * k_scale).astype(np.int64)

    area_of = np.array([a for a, _ in labels])
    inhibitory = np.array([p.endswith("I") for _, p in labels])
    delays = np.where([p.endswith("E") for _, p in labels], DELAY_EXC, DELAY_INH) * np.ones(
        (len(labels), 1))
    for target in areas:
        for source in areas:
            if source != target:
                block = (area_of == target)[:, None] & (area_of == source)[None, :]
                delays[block] = t.distances[target][source] / SPEED

    used = n_synapses > 0
    max_delay = float(np.ceil(10.0 * delay_bound(delays[used].max() if used.any() else
                                                 DELAY_EXC)) / 10.0)

    k_scaled = t.indegrees[simulated] * k_scale
    if missing_areas == "poisson":
        missing_rate = (k_scaled[:, ~simulated] * t.rates[None, ~simulated]).sum(axis=1)
    else:
        missing_rate = np.zeros(len(labels))
    missing_weight = W_E * chi * np.where(inhibitory, chi_i, 1.0) / sqrt_k
    return ScaledModel(
        areas=areas, state=state, chi=chi, chi_i=chi_i, n_scale=n_scale, k_scale=k_scale,
        background=background, missing_areas=missing_areas, labels=labels,
        n_neurons=n_neurons, n_synapses=n_synapses, weights=w_full[sub] / sqrt_k,
        delays=delays, max_delay=max_delay, k_ext=t.k_ext[simulated] * k_scale, w_ext=W_E / sqrt_k,
        i_offset=i_offset[simulated], missing_rate=missing_rate,
        missing_weight=missing_weight)
