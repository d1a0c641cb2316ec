"""Adjacency graphs of a skeleton layout, as the official encoders build them for NTU.

Two graphs are in use (methods.md §1.2):

* ``stgcn_spatial``: the ST-GCN "spatial" partition with ``max_hop=1`` (CrosSCLR, AimCLR,
  SkeletonCLR). Hop distances beyond one hop are infinite, so most neighbour pairs compare
  ``inf == inf`` and land in the "root" partition: 25 / 40 / 8 non-zeros. That degenerate
  partition is what the published numbers were trained with, so it is reproduced.
* ``agcn``: the 2s-AGCN identity / inward / outward graph that SkeleMixCLR uses.

Both return float32 arrays of shape ``(3, V, V)`` — ``(3, 25, 25)`` for NTU; entry ``[k, j, i]``
weights the message from joint ``i`` to joint ``j`` (the encoder computes
``einsum('nkctv,kvw->nctw')``). Each is built from a :class:`datasets.layouts.Layout`'s edges and
centre joint (default ``ntu25``, whose arrays are the official ones bit for bit), with the same
rules for every layout, as pyskl builds its graphs from a layout name: the degenerate ``max_hop=1``
spatial partition measures distances from the layout's centre (Kinect v1: shoulder centre; COCO-17:
the nose; OpenPose-18: the neck), and the AGCN inward links are the layout's (child, parent) edges.
"""

from __future__ import annotations

import numpy as np

from datasets.layouts import Layout, get_layout
from datasets.skeleton import NUM_JOINTS

#: What a graph builder accepts for its layout: a :class:`Layout`, its name, or None (``ntu25``).
LayoutLike = str | Layout | None


def adjacency_matrix(edges: tuple[tuple[int, int], ...], num_nodes: int = NUM_JOINTS) -> np.ndarray:
    """Symmetric 0/1 adjacency without self-links."""
    a = np.zeros((num_nodes, num_nodes), dtype=np.float64)
    for i, j in edges:
        a[i, j] = a[j, i] = 1.0
    return a


def hop_distance(edges: tuple[tuple[int, int], ...], max_hop: int, num_nodes: int = NUM_JOINTS) -> np.ndarray:
    """Shortest-path hop count, ``inf`` beyond ``max_hop`` (as ST-GCN computes it)."""
    a = adjacency_matrix(edges, num_nodes) + np.eye(num_nodes)
    dist = np.full((num_nodes, num_nodes), np.inf)
    reach = [np.linalg.matrix_power(a, d) > 0 for d in range(max_hop + 1)]
    for d in range(max_hop, -1, -1):
        dist[reach[d]] = d
    return dist


def normalize_columns(a: np.ndarray) -> np.ndarray:
    """``A · D⁻¹`` with D the column sums; empty columns stay zero."""
    col = a.sum(axis=0)
    inv = np.divide(1.0, col, out=np.zeros_like(col), where=col > 0)
    return a * inv[None, :]


def stgcn_spatial(max_hop: int = 1, center: int | None = None, layout: LayoutLike = None) -> np.ndarray:
    """ST-GCN "spatial" partition: [self, root+centripetal, centrifugal] (degenerate at max_hop 1),
    over ``layout``'s edges with distances from ``center`` (default: the layout's centre joint)."""
    lay = get_layout(layout)
    center = lay.center if center is None else center
    dist = hop_distance(lay.edges, max_hop, lay.num_joints)
    norm = normalize_columns((dist <= max_hop).astype(np.float64))
    parts = []
    for hop in range(max_hop + 1):
        root = np.zeros_like(norm)
        close = np.zeros_like(norm)
        further = np.zeros_like(norm)
        for j, i in zip(*np.nonzero(dist == hop)):
            if dist[j, center] == dist[i, center]:
                root[j, i] = norm[j, i]
            elif dist[j, center] > dist[i, center]:
                close[j, i] = norm[j, i]
            else:
                further[j, i] = norm[j, i]
        if hop == 0:
            parts.append(root)
        else:
            parts.extend([root + close, further])
    return np.stack(parts).astype(np.float32)


def agcn(layout: LayoutLike = None) -> np.ndarray:
    """2s-AGCN graph of ``layout``: identity (not normalised), column-normalised inward and outward links."""
    lay = get_layout(layout)
    num_nodes = lay.num_joints
    inward = np.zeros((num_nodes, num_nodes))
    for i, j in lay.edges:  # (child, parent) pairs; edge2mat sets A[parent, child]
        inward[j, i] = 1.0
    return np.stack([np.eye(num_nodes), normalize_columns(inward), normalize_columns(inward.T)]).astype(np.float32)


GRAPHS = {"stgcn_spatial": stgcn_spatial, "agcn": agcn}


def build_graph(name: str, layout: LayoutLike = None) -> np.ndarray:
    """Graph by name (``stgcn_spatial`` or ``agcn``) for ``layout`` (default ``ntu25``)."""
    try:
        builder = GRAPHS[name]
    except KeyError:
        raise ValueError(f"unknown graph {name!r}; choose one of {', '.join(GRAPHS)}") from None
    return builder(layout=layout)
