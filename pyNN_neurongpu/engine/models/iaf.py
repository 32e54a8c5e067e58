"""NEST's iaf_psc_exp, iaf_cond_exp and iaf_cond_alpha (PyNN's IF_curr_exp, IF_cond_exp,
IF_cond_alpha) as compositions (composed.py): the LIF membrane with an excitatory and an
inhibitory receptor, under PyNN's names (``tau_syn_E``, ``e_rev_I``, ``isyn_exc``,
``gsyn_inh``), each in its NEST model's order of operations.

Semantics (NEST 3.10):

* ``iaf_psc_exp``: exact integration on the time grid. A free neuron's V - v_rest is
  propagated with the currents of the previous step, P22 (V - v_rest) + P21ex I_ex +
  P21in I_in + P20 (i_offset + i_stim) (``iaf_psc_exp_multisynapse``, the plain LIF
  composition, adds the receptors' terms last); a refractory one counts down with V
  held. Then the currents decay and this step's input is added; V >= v_thresh spikes,
  is reset and refractory for round-up(tau_refrac/dt) steps.
* ``iaf_cond_exp``: adaptive RKF45 over each step (absolute tolerance 1e-3 in mV, nS),
  V capped at v_thresh in the right-hand side and held at v_reset while refractory,
  C dV/dt = -I_L + i_stim + i_offset - I_ex - I_in, dg/dt = -g / tau_syn (NEST divides:
  no reciprocals); then this step's input is added to g, and the refractory countdown
  (V clamped) or the threshold check and reset.
* ``iaf_cond_alpha``: as ``iaf_cond_exp`` with C dV/dt = -I_L - I_ex - I_in + i_stim +
  i_offset and alpha conductances driven through dg (a weight w adds w e/tau_syn to
  dg: g peaks at w); the input is added after the threshold check.

In every family injected current arriving in a step acts from the next step on;
weights are in nA (current-based, negative on the inhibitory port) or uS (positive on
both ports). On the GPU the conductance families keep one neuron per thread (``pool``
off), as their kernels had before they were compositions.
"""

from __future__ import annotations

from . import lif
from .base import Var
from .composed import Arithmetic, composed_family

PORTS = (("excitatory", "E", "exc"), ("inhibitory", "I", "inh"))
# a receptor's names in PyNN's IF_* cell types
NAMES = {full: short for port, s, x in PORTS for full, short in (
    (f"{port}.tau_syn", f"tau_syn_{s}"), (f"{port}.e_syn", f"e_rev_{s}"),
    (f"{port}.isyn", f"isyn_{x}"), (f"{port}.gsyn", f"gsyn_{x}"),
    (f"{port}.dgsyn", f"dgsyn_{x}"))}


def _family(name, kind, arithmetic, declarations, pool=True):
    return composed_family("lif", [(port, kind) for port, _, _ in PORTS], arithmetic,
                           name=name, names=NAMES, declarations=declarations, pool=pool)


IAF_PSC_EXP = _family(
    "iaf_psc_exp", "curr_exp", Arithmetic(propagated=("leak", "receptors", "drive")),
    {**lif.synaptic_time_constants(5.0, "decay time of the {} synaptic current"),
     **lif.SYNAPTIC_CURRENTS})
IAF_COND_EXP = _family(
    "iaf_cond_exp", "cond_exp",
    Arithmetic(current=("leak", "i_stim", "i_offset", "receptors"), divide=True),
    {**lif.synaptic_time_constants(5.0, "decay time of the {} conductance"),
     **lif.REVERSAL_POTENTIALS, **lif.SYNAPTIC_CONDUCTANCES}, pool=False)
IAF_COND_ALPHA = _family(
    "iaf_cond_alpha", "cond_alpha",
    Arithmetic(current=("leak", "receptors", "i_stim", "i_offset"), divide=True),
    {"tau_syn_E": Var(0.3, "ms", "rise time of the excitatory alpha conductance"),
     "tau_syn_I": Var(0.5, "ms", "rise time of the inhibitory alpha conductance"),
     **lif.REVERSAL_POTENTIALS, **lif.SYNAPTIC_CONDUCTANCES}, pool=False)
