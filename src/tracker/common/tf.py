"""Static-transform graph search (ROS-free): chaining tf_static edges into camera extrinsics.

An edge ``{(parent, child): T_parent_child}`` is what one tf2 ``TransformStamped`` holds (``header.frame_id`` =
parent, ``child_frame_id`` = child; see :mod:`tracker.common.geometry` for the convention). Edges are walked in
either direction (an edge gives ``T_child_parent = T_parent_child.inverse()`` too), breadth first, so the
shortest chain wins. The one implementation used by the bag reader (tracker.data) and the tracker node.
"""
from __future__ import annotations

from collections import deque
from typing import Mapping

from .geometry import Transform

ROOT_CAMERA = "color"


def normalize_frame(frame: str) -> str:
    """tf2 frame id without a leading '/' (tf2 ignores it; ROS 1 bags often carry it)."""
    return str(frame).lstrip("/")


def tf_graph(edges: Mapping[tuple[str, str], Transform]) -> dict[str, list[tuple[str, Transform]]]:
    """Adjacency {frame: [(neighbour, T_frame_neighbour)]} of the edges, both directions."""
    graph: dict[str, list[tuple[str, Transform]]] = {}
    for (parent, child), T in edges.items():
        graph.setdefault(parent, []).append((child, T))
        graph.setdefault(child, []).append((parent, T.inverse()))
    return graph


def transforms_from(root: str, edges: Mapping[tuple[str, str], Transform]) -> dict[str, Transform]:
    """{frame: T_root_frame} of every frame connected to ``root`` (``root`` itself: identity)."""
    graph = tf_graph(edges)
    reach = {root: Transform.identity()}
    queue = deque([root])
    while queue:
        f = queue.popleft()
        for nxt, T in graph.get(f, []):
            if nxt not in reach:
                reach[nxt] = reach[f] @ T
                queue.append(nxt)
    return reach


def extrinsics_from_edges(edges: Mapping[tuple[str, str], Transform], frames: Mapping[str, str]
                          ) -> dict[str, Transform]:
    """{camera: T_color_camera} by chaining static transforms {(parent, child): T_parent_child} in either
    direction from the color frame (``frames``: {camera: frame id}); cameras without a path are absent, color
    is the identity; no color frame: {}."""
    root = frames.get(ROOT_CAMERA)
    if not root:
        return {}
    reach = transforms_from(root, edges)
    out = {n: reach[f] for n, f in frames.items() if f in reach}
    out[ROOT_CAMERA] = Transform.identity()
    return out
