"""The transform graph search (ROS-free): chaining tf edges into camera extrinsics and lookups.

An edge ``{(parent, child): T_parent_child}`` is what one tf2 ``TransformStamped`` holds (``header.frame_id`` =
parent, ``child_frame_id`` = child; see :mod:`tracker.common.geometry` for the convention). Edges are walked in
either direction (an edge gives ``T_child_parent = T_parent_child.inverse()`` too), breadth first, so the
shortest chain wins. :func:`search_tree` is the one search, used by the bag reader (tracker.data), the tracker
node's extrinsics and the time-stamped buffer (tracker.common.tf_buffer).
"""
from __future__ import annotations

from collections import deque
from typing import Iterable, Mapping

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


#: one step of a chain: (edge (parent, child), forward); forward = walked parent -> child (T_parent_child as is),
#: else child -> parent (its inverse)
Step = tuple[tuple[str, str], bool]


def search_tree(root: str, edges: Iterable[tuple[str, str]]) -> dict[str, tuple[str, Step] | None]:
    """Breadth-first search from ``root`` over the edges (parent, child), walked in either direction:
    {frame: (the frame before it on the way from root, the step from that frame to it)} of every frame connected
    to ``root``, in the order found (``root`` itself: None)."""
    graph: dict[str, list[tuple[str, Step]]] = {}
    for parent, child in edges:
        graph.setdefault(parent, []).append((child, ((parent, child), True)))
        graph.setdefault(child, []).append((parent, ((parent, child), False)))
    tree: dict[str, tuple[str, Step] | None] = {root: None}
    queue = deque([root])
    while queue:
        f = queue.popleft()
        for nxt, step in graph.get(f, []):
            if nxt not in tree:
                tree[nxt] = (f, step)
                queue.append(nxt)
    return tree


def chain(tree: Mapping[str, tuple[str, Step] | None], frame: str) -> list[Step]:
    """The steps from the search's root to ``frame`` (in order) in a :func:`search_tree` result; KeyError when
    ``frame`` is not connected to the root."""
    steps: list[Step] = []
    node = tree[frame]
    while node is not None:
        prev, step = node
        steps.append(step)
        node = tree[prev]
    return steps[::-1]


def transforms_from(root: str, edges: Mapping[tuple[str, str], Transform]) -> dict[str, Transform]:
    """{frame: T_root_frame} of every frame connected to ``root`` (``root`` itself: identity)."""
    tree = search_tree(root, edges)
    reach = {root: Transform.identity()}
    for frame, node in tree.items():
        if node is not None:
            prev, (key, forward) = node
            reach[frame] = reach[prev] @ (edges[key] if forward else edges[key].inverse())
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
