r"""How well a sampler mixes: label changes, integrated autocorrelation times, effective sample size.

A chain that has reached the model's equilibrium must also *move* within it: a chain
that stays on one digit for the whole run tells us little about the proportions of
digits. Three numbers, computed from the traces that :func:`rbmlib.sampling.sample`
records (``trace_every``), after a burn-in:

* **label changes per 1000 sweeps**: how often the digit classifier's label of a chain
  differs between two consecutive records, per chain, scaled to 1000 sweeps;
* the **integrated autocorrelation time** :math:`\tau` of the energy :math:`E(v, h)` and
  of the label (as the indicators of the ten classes, the slowest reported), in
  sweeps: :math:`\tau = 1 + 2\sum_{s=1}^{M}\rho(s)` with Sokal's automatic window
  :math:`M` (the estimator of ``emcee.autocorr.integrated_time``, with the chains pooled;
  see :func:`integrated_time` for why it is not called directly);
* the **effective sample size** :math:`N_\text{chains} N_\text{sweeps} / \tau`: how many
  independent draws the run is worth.
"""

from __future__ import annotations

import numpy as np

__all__ = ["integrated_time", "label_change_rate", "mixing_report", "split_rhat"]


def integrated_time(trace, c: float = 5.0) -> np.ndarray:
    r"""Integrated autocorrelation time of each dimension of ``trace``, in steps of the trace.

    The autocovariance is pooled over chains around the mean of *all* chains,
    :math:`\gamma(s) = \frac{1}{KN}\sum_k \sum_t (x_{k,t} - \bar x)(x_{k,t+s} - \bar x)`
    (computed by FFT), and :math:`\rho(s) = \gamma(s)/\gamma(0)` is summed up to Sokal's
    automatic window, the smallest :math:`M` with :math:`M \ge c\,\tau(M)` (the whole trace
    if there is none). This is ``emcee.autocorr.integrated_time``'s estimator, written out
    because ``emcee`` normalises every chain by its own variance, which is undefined for
    a chain that never changes (a chain stuck on one digit: NaN) and would drop exactly
    the chains that mix worst, and because its window search returns 0 when no window
    qualifies. Pooling counts stuck chains as a long-lived offset between chains. On
    chains where both are defined the two agree (see the tests).

    Parameters
    ----------
    trace : array_like, shape (n_steps, n_chains) or (n_steps, n_chains, n_dim)
        Values of one or more statistics along parallel chains of the same sampler.
    c : float
        Window constant.

    Returns
    -------
    ndarray, shape (n_dim,)
        :math:`\tau` per dimension (NaN for a dimension that never varies). When the
        trace is shorter than about 50 :math:`\tau` the estimate is a lower bound.
    """
    x = np.asarray(trace, dtype=np.float64)
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3 or x.shape[0] < 2 or not np.all(np.isfinite(x)):
        raise ValueError(f"trace must be finite with shape (n_steps >= 2, n_chains[, n_dim]), got {np.shape(trace)}")
    n = x.shape[0]
    x = x - x.mean(axis=(0, 1))
    size = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(x, n=size, axis=0)
    acov = np.fft.irfft(f * np.conj(f), n=size, axis=0)[:n].mean(axis=1)  # (n, n_dim), summed over t
    tau = np.full(x.shape[2], np.nan)
    for d in np.flatnonzero(acov[0] > 0):
        taus = 2.0 * np.cumsum(acov[:, d] / acov[0, d]) - 1.0
        ok = np.flatnonzero(np.arange(n) >= c * taus)
        tau[d] = taus[ok[0] if ok.size else n - 1]
    return tau


def label_change_rate(labels, sweeps_between: int) -> float:
    """Mean number of label changes per chain per 1000 sweeps.

    Parameters
    ----------
    labels : array_like of int, shape (n_records, n_chains)
        Classifier labels of the chains' states, recorded every ``sweeps_between`` sweeps.
    sweeps_between : int

    Returns
    -------
    float
    """
    y = np.asarray(labels)
    if y.ndim != 2 or y.shape[0] < 2:
        raise ValueError(f"labels must have shape (n_records >= 2, n_chains), got {y.shape}")
    changes = np.mean(y[1:] != y[:-1])
    return float(changes * 1000.0 / sweeps_between)


def mixing_report(labels, trace_sweeps, energy, *, burn_in: int = 0, n_classes: int = 10) -> dict:
    """Label change rate, autocorrelation times and effective sample sizes of one run.

    Parameters
    ----------
    labels : array_like of int, shape (n_records, n_chains)
        Labels of the recorded states (e.g. ``classifier.predict`` of each record of
        :attr:`rbmlib.sampling.SampleRun.trace`).
    trace_sweeps : array_like of int, shape (n_records,)
        The sweep of each record (equally spaced).
    energy : array_like, shape (n_sweeps, n_chains)
        :math:`E(v, h)` after every sweep.
    burn_in : int
        Sweeps discarded from the start.
    n_classes : int

    Returns
    -------
    dict
        ``label_changes_per_1000``, ``tau_energy`` and ``tau_label`` (sweeps),
        ``ess_energy`` and ``ess_label``, ``n_chains``, ``n_sweeps`` (after burn-in).
    """
    labels, trace_sweeps, energy = np.asarray(labels), np.asarray(trace_sweeps), np.asarray(energy)
    keep = trace_sweeps > burn_in
    labels, sweeps = labels[keep], trace_sweeps[keep]
    if len(sweeps) < 3:
        raise ValueError("need at least 3 records after the burn-in")
    every = int(sweeps[1] - sweeps[0])
    energy = energy[burn_in:]
    onehot = labels[:, :, None] == np.arange(n_classes)
    tau_label = float(np.nanmax(integrated_time(onehot))) * every if onehot.any() else float("nan")
    tau_energy = float(integrated_time(energy)[0])
    n_chains, n_sweeps = energy.shape[1], energy.shape[0]
    return {
        "label_changes_per_1000": label_change_rate(labels, every),
        "tau_energy": tau_energy,
        "tau_label": tau_label,
        "ess_energy": n_chains * n_sweeps / tau_energy,
        "ess_label": n_chains * len(sweeps) * every / tau_label,
        "n_chains": int(n_chains),
        "n_sweeps": int(n_sweeps),
    }


def split_rhat(trace) -> float:
    r"""The potential scale reduction :math:`\hat R` of a quantity traced in several chains (split in halves).

    Each chain's record is cut in two halves, which are treated as chains of their own (a
    chain that drifts then disagrees with itself). With :math:`m` half-chains of :math:`n`
    records, :math:`B` the variance between their means times :math:`n` and :math:`W` the mean
    of their variances,

    .. math::

        \hat R = \sqrt{\frac{\frac{n-1}{n} W + \frac{1}{n} B}{W}}
        \quad\text{(Gelman \& Rubin, 1992; split as in Gelman et al., 2013).}

    Chains started in different places (from data and from noise, say) that have all reached
    the same equilibrium give :math:`\hat R` close to 1; values above about 1.01-1.1 say that
    they have not yet forgotten where they started.

    Parameters
    ----------
    trace : array_like, shape (n_records, n_chains)
        E.g. the energy of every chain after every sweep, after a burn-in.

    Returns
    -------
    float
    """
    x = np.asarray(trace, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 4 or x.shape[1] < 1:
        raise ValueError(f"trace must have shape (n_records >= 4, n_chains), got {x.shape}")
    n = x.shape[0] // 2
    halves = np.concatenate([x[:n], x[n : 2 * n]], axis=1)
    means, variances = halves.mean(axis=0), halves.var(axis=0, ddof=1)
    B, W = n * means.var(ddof=1), variances.mean()
    if W == 0:
        return float("inf") if B > 0 else 1.0
    return float(np.sqrt(((n - 1) / n * W + B / n) / W))
