"""Host identity from the sky (docs/science.md section 4): rows at one position are one galaxy.

A host is a sky position, not a row id. Real paired data puts several
injections on one LRG (seed 001: every theta_E >= 2" sample of a host shares
its (ra, dec)), so ids made from file and row would count one galaxy several
times and could put it in two splits or two CV folds. Rows closer than a
match radius (arcsec, default 0.5") are linked, and the connected components
of that graph are the hosts. A user-given ``host_id`` is kept where it agrees
with the positions; one that contradicts them (two ids at one position, or one
id at two positions) is an error naming both rows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd


class HostError(ValueError):
    """Host ids that contradict the sky positions; the message names both rows."""


def sky_groups(ra_deg: np.ndarray, dec_deg: np.ndarray, radius_arcsec: float) -> np.ndarray:
    """Connected-component label (0..G-1, first seen first) of every position under links closer than
    `radius_arcsec` (great-circle separation; astropy's KD-tree match). Coordinates in degrees."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord, search_around_sky
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(ra_deg)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    coords = SkyCoord(np.asarray(ra_deg, dtype=float) * u.deg, np.asarray(dec_deg, dtype=float) * u.deg)
    i, j, _, _ = search_around_sky(coords, coords, radius_arcsec * u.arcsec)
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    _, first_seen = np.unique(labels, return_index=True)
    order = np.argsort(np.argsort(first_seen))  # relabel so that components are numbered by their first row
    return order[labels].astype(np.int64)


def shared_host_counts(groups: np.ndarray) -> dict[str, int]:
    """How many rows share a host with another row, and in how many hosts."""
    sizes = np.bincount(groups) if len(groups) else np.zeros(0, dtype=np.int64)
    multi = sizes > 1
    return {"n_rows": int(len(groups)), "n_hosts": int(len(sizes)), "n_rows_sharing_a_host": int(sizes[multi].sum()),
            "n_hosts_with_several_rows": int(multi.sum()), "max_rows_per_host": int(sizes.max()) if len(sizes) else 0}


def _separation_arcsec(table: pd.DataFrame, a: int, b: int) -> float:
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    pa, pb = (SkyCoord(table["ra"].iat[k] * u.deg, table["dec"].iat[k] * u.deg) for k in (a, b))
    return float(pa.separation(pb).arcsec)


def assign_hosts(table: pd.DataFrame, radius_arcsec: float, where: Callable[[int], str]) -> pd.Series:
    """The host of every row of `table` (with ``ra``, ``dec`` and optional ``host_id``, NA = not given).

    Rows of one sky group take the group's given ``host_id``, else ``sky:<pair_id of the group's first
    row>``. `where(i)` names row i in the user's terms (file and row) for errors.
    """
    groups = sky_groups(table["ra"].to_numpy(), table["dec"].to_numpy(), radius_arcsec)
    given = table["host_id"] if "host_id" in table else pd.Series(pd.NA, index=table.index, dtype=object)
    given = given.reset_index(drop=True)
    has = given.notna().to_numpy()
    frame = pd.DataFrame({"group": groups, "given": given.astype(object), "pos": np.arange(len(table))})[has]
    for key, other, what in (("group", "given", "different host_id values at one sky position"),
                             ("given", "group", f"one host_id at positions more than {radius_arcsec}\" apart")):
        for _, rows in frame.groupby(key, sort=False):
            if rows[other].nunique() > 1:
                a = int(rows["pos"].iat[0])
                b = int(rows.loc[rows[other] != rows[other].iat[0], "pos"].iat[0])
                raise HostError(f"{where(a)} and {where(b)}: field host_id {given.iat[a]!r} and {given.iat[b]!r}: {what} "
                                f"(separation {_separation_arcsec(table, a, b):.3f}\", match radius {radius_arcsec}\")")
    names = frame.groupby("group")["given"].first()
    pair_ids = table["pair_id"].astype(str).to_numpy()
    _, first = np.unique(groups, return_index=True)
    fallback = pd.Series([f"sky:{pair_ids[k]}" for k in first])
    given_name = pd.Series(groups).map(names.astype(object)).astype(object)
    host = given_name.where(given_name.notna(), pd.Series(groups).map(fallback).astype(object))
    return pd.Series(host.astype(str).to_numpy(), index=table.index, name="host_id")
