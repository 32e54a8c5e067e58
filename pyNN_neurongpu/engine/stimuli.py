"""Current stimuli injected into neurons (the engine side of PyNN's electrodes).

A stimulus tells, for a block of steps, the current (nA) that *arrives* at its
target neurons in each step; the neuron model decides when that current acts
(NEST's models apply it from the following step).
"""

from __future__ import annotations

import numpy as np


class CurrentStimulus:
    """Base class: a current waveform injected into a set of neurons."""

    def __init__(self, targets=None):
        self.targets = np.zeros(0, dtype=np.int64) if targets is None else np.asarray(targets)

    def set_targets(self, gids):
        self.targets = np.unique(np.concatenate([self.targets, np.asarray(gids, dtype=np.int64)]))

    def values(self, backend, first_step: int, n_steps: int, dt: float):
        """Currents for steps first_step .. first_step + n_steps - 1.

        Returns an array of shape (n_steps,) (same current for every target) or
        (n_steps, n_targets).
        """
        raise NotImplementedError

    def reset(self):
        """Called when the network is reset to t = 0."""


class PiecewiseConstantCurrent(CurrentStimulus):
    """Current that changes to ``amplitudes[i]`` at step ``change_steps[i]``
    and is zero before the first change."""

    def __init__(self, change_steps=(), amplitudes=(), targets=None):
        super().__init__(targets)
        self.set_waveform(change_steps, amplitudes)

    def set_waveform(self, change_steps, amplitudes):
        change_steps = np.asarray(change_steps, dtype=np.int64)
        amplitudes = np.asarray(amplitudes, dtype=float)
        order = np.argsort(change_steps, kind="stable")
        self.change_steps = change_steps[order]
        self.amplitudes = amplitudes[order]

    def values(self, backend, first_step, n_steps, dt):
        steps = np.arange(first_step, first_step + n_steps)
        pos = np.searchsorted(self.change_steps, steps, side="right") - 1
        amps = np.concatenate([[0.0], self.amplitudes])[pos + 1]
        return backend.asarray(amps, dtype=backend.float)
