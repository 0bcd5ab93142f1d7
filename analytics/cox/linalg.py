"""Linear algebra of the information matrix: which covariates depend on others."""

from __future__ import annotations

import numpy as np
from scipy import linalg

from analytics.cox.common import _COLLINEAR_TOL, BoolArray, FloatArray


def _dependent(information: FloatArray) -> BoolArray:
    """Every term involved in a (near) dependency of a singular information matrix.

    When the information turns singular during the fit, the terms are being driven apart by
    separation rather than being plain copies, so all the terms of the dependency are affected,
    not only the later one.
    """
    involved = np.zeros(information.shape[0], dtype=bool)
    for position, others in _collinear(information).items():
        involved[position] = True
        involved[others] = True
    return involved


def _collinear(information: FloatArray) -> dict[int, list[int]]:
    """Covariates (positions) that are linear combinations of earlier kept ones.

    Goes through the covariates in order and keeps one when the part of its within-risk-set
    variance not explained by those already kept is more than ``_COLLINEAR_TOL`` of the whole;
    for each one left out, lists the kept covariates it is a combination of.
    """
    p = information.shape[0]
    kept: list[int] = []
    dropped: dict[int, list[int]] = {}
    for k in range(p):
        own = float(information[k, k])
        if not own > 0:
            dropped[k] = list(kept)
            continue
        if kept:
            block = information[np.ix_(kept, kept)]
            cross = information[kept, k]
            try:
                coefs = linalg.solve(block, cross, assume_a="pos")
            except (linalg.LinAlgError, ValueError):
                coefs = np.linalg.lstsq(block, cross, rcond=None)[0]
            residual = own - float(cross @ coefs)
            if residual <= _COLLINEAR_TOL * own:
                scale = np.sqrt(np.diag(block) / own)
                involved = [kept[i] for i in np.flatnonzero(np.abs(coefs) * scale > 1e-6)]
                dropped[k] = involved or list(kept)
                continue
        kept.append(k)
    return dropped


# --------------------------------------------------------------------------------------------
# terms that cannot be estimated
