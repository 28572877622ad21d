"""Gradient-boosted decision trees stored as JSON and evaluated with numpy.

A fitted model travels as data, not as a pickle tied to one library version: the
trees' split features (by name), thresholds, missing-value rules and leaf values,
read from LightGBM's public ``Booster.dump_model()`` (LightGBM 4, Ke et al., NeurIPS
2017) and evaluated here with the same decision rule, so that serving needs only
numpy and the file.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import expit

#: Name and version of the JSON layout written by :meth:`TreeEnsemble.to_json`.
FORMAT = "calcdetect.trees"
FORMAT_VERSION = 1
#: How a split sends a missing value (LightGBM's missing types).
MISSING_TYPES = ("none", "zero", "nan")
#: LightGBM counts |x| <= this as zero.
_ZERO = 1e-35


@dataclass(frozen=True, eq=False)
class Tree:
    """One regression tree in flat arrays.

    Internal nodes are numbered 0..S-1 (node 0 is the root); a child ``>= 0`` is an
    internal node, a child ``< 0`` is the leaf ``~child``. A tree of one leaf has S = 0.

    Attributes
    ----------
    feature : (S,) ndarray of int
        Index of the split feature in :attr:`TreeEnsemble.features`.
    threshold : (S,) ndarray of float64
        A value ``<=`` the threshold goes left.
    missing : (S,) ndarray of int
        Index in :data:`MISSING_TYPES`: with ``"nan"``, NaN takes the default side; with
        ``"zero"``, zero and NaN do; with ``"none"``, NaN counts as zero.
    default_left : (S,) ndarray of bool
    left, right : (S,) ndarray of int
    leaf_value : (L,) ndarray of float64
    """

    feature: np.ndarray
    threshold: np.ndarray
    missing: np.ndarray
    default_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf_value: np.ndarray

    def predict_raw(self, x: np.ndarray) -> np.ndarray:
        """(K,) leaf value reached by each row of the (K, F) matrix `x`."""
        k = len(x)
        if len(self.feature) == 0:
            return np.full(k, self.leaf_value[0])
        node = np.zeros(k, np.int64)
        rows = np.arange(k)
        active = rows
        while active.size:
            n = node[active]
            value = x[active, self.feature[n]]
            child = _child(self, n, value)
            node[active] = child
            active = active[child >= 0]
        return self.leaf_value[~node]


@dataclass(frozen=True, eq=False)
class _Forest:
    """All trees of an ensemble in flat arrays, so that every (tree, row) pair descends one
    level per step: the same decisions as :meth:`Tree.predict_raw`, without a Python loop
    over the trees. Internal nodes are numbered across the trees (node n of tree t is
    ``t * S + n``, S the largest tree's count), leaves too (``~(t * L + l)``); a child is
    either. The missing-value rule (:func:`_child`) is read off once per node into
    tables: where a NaN goes (`nan_left`), which nodes send a value of about zero to a
    side of their own (LightGBM's "zero" type, `zero_rule`) and which side (`zero_left`);
    every other value goes left when at most the threshold."""

    feature: np.ndarray
    threshold: np.ndarray
    nan_left: np.ndarray
    zero_rule: np.ndarray
    zero_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf_value: np.ndarray
    root: np.ndarray

    @classmethod
    def stack(cls, trees) -> _Forest:
        n_nodes = max([len(t.feature) for t in trees] + [1])
        n_leaves = max([len(t.leaf_value) for t in trees] + [1])

        def padded(values_of, size, dtype):
            out = np.zeros((len(trees), size), dtype)
            for i, tree in enumerate(trees):
                values = values_of(i, tree)
                out[i, : len(values)] = values
            return out.ravel()

        def child(i, c):  # a tree's own child number, numbered across the trees
            return np.where(c >= 0, i * n_nodes + c, ~(i * n_leaves + ~c))

        def goes_left(value):  # by the rule itself, at every node of a tree
            return lambda i, t: _child(t, np.arange(len(t.feature)), np.full(len(t.feature), value)) == t.left

        return cls(feature=padded(lambda i, t: t.feature, n_nodes, np.int64),
                   threshold=padded(lambda i, t: t.threshold, n_nodes, float),
                   nan_left=padded(goes_left(np.nan), n_nodes, bool),
                   zero_rule=padded(lambda i, t: t.missing == MISSING_TYPES.index("zero"), n_nodes, bool),
                   zero_left=padded(goes_left(0.0), n_nodes, bool),
                   left=padded(lambda i, t: child(i, t.left), n_nodes, np.int64),
                   right=padded(lambda i, t: child(i, t.right), n_nodes, np.int64),
                   leaf_value=padded(lambda i, t: t.leaf_value, n_leaves, float),
                   root=np.array([i * n_nodes if len(t.feature) else ~(i * n_leaves) for i, t in enumerate(trees)],
                                 np.int64))

    def predict_raw(self, x: np.ndarray) -> np.ndarray:
        """(T, K) leaf value each tree gives each row of the (K, F) matrix `x`."""
        k, n_features = x.shape
        node = np.repeat(self.root, k)  # pair p: tree p // k, row p % k
        row_start = np.tile(np.arange(k, dtype=np.int64) * n_features, len(self.root))
        flat_x = np.ascontiguousarray(x, float).ravel()
        any_zero_rule = bool(self.zero_rule.any())
        active = np.flatnonzero(node >= 0)
        while active.size:  # as Tree.predict_raw, for all (tree, row) pairs at once
            n = node[active]
            value = flat_x[row_start[active] + self.feature[n]]
            go_left = value <= self.threshold[n]
            nan = np.isnan(value)
            if nan.any():
                go_left[nan] = self.nan_left[n[nan]]
            if any_zero_rule:
                zero = self.zero_rule[n] & (np.abs(value) <= _ZERO)
                go_left[zero] = self.zero_left[n[zero]]
            child = np.where(go_left, self.left[n], self.right[n])
            node[active] = child
            active = active[child >= 0]
        return self.leaf_value[~node].reshape(len(self.root), k)


@dataclass(frozen=True, eq=False)
class TreeEnsemble:
    """A binary classifier: the sum of its trees' leaf values through a logistic.

    Attributes
    ----------
    features : tuple of str
        Feature names, in the column order the trees index.
    trees : tuple of Tree
    metadata : dict
        What the model was fitted on and how (the data card), carried with it.
    """

    features: tuple[str, ...]
    trees: tuple[Tree, ...]
    metadata: dict = field(default_factory=dict)

    def predict_proba(self, columns) -> np.ndarray:
        """Probability of the positive class for each of K objects.

        Parameters
        ----------
        columns : mapping of str to (K,) array_like
            At least every name in :attr:`features` (e.g. a
            :class:`calcdetect.specks.features.CandidateFeatures`' fields as a dict);
            missing values as NaN.

        Returns
        -------
        (K,) ndarray of float64
        """
        missing = [name for name in self.features if name not in columns]
        if missing:
            raise ValueError(f"columns lack the model's feature(s) {missing}")
        x = np.column_stack([np.asarray(columns[name], float) for name in self.features])
        raw = np.zeros(len(x))
        for leaf_value in self._forest.predict_raw(x):  # tree by tree, as one would add them
            raw += leaf_value
        return expit(raw)

    @functools.cached_property
    def _forest(self) -> _Forest:
        return _Forest.stack(self.trees)

    def to_json(self) -> str:
        """The model as JSON text (:data:`FORMAT`, version :data:`FORMAT_VERSION`)."""
        trees = [{
            "feature": t.feature.tolist(),
            "threshold": t.threshold.tolist(),
            "missing": [MISSING_TYPES[m] for m in t.missing.tolist()],
            "default_left": t.default_left.tolist(),
            "left": t.left.tolist(),
            "right": t.right.tolist(),
            "leaf_value": t.leaf_value.tolist(),
        } for t in self.trees]
        document = {"format": FORMAT, "format_version": FORMAT_VERSION, "objective": "binary",
                    "features": list(self.features), "metadata": self.metadata, "trees": trees}
        return json.dumps(document, indent=None, separators=(",", ":")) + "\n"

    @classmethod
    def from_json(cls, text: str, *, source: str = "model") -> TreeEnsemble:
        """Read a model written by :meth:`to_json`; raises ValueError naming `source` otherwise."""
        document = json.loads(text)
        if document.get("format") != FORMAT or document.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"{source}: not a {FORMAT} model of format version {FORMAT_VERSION}; "
                             f"got format {document.get('format')!r}, version {document.get('format_version')!r}")
        trees = tuple(Tree(
            feature=np.asarray(t["feature"], np.int64),
            threshold=np.asarray(t["threshold"], float),
            missing=np.asarray([MISSING_TYPES.index(m) for m in t["missing"]], np.int64),
            default_left=np.asarray(t["default_left"], bool),
            left=np.asarray(t["left"], np.int64),
            right=np.asarray(t["right"], np.int64),
            leaf_value=np.asarray(t["leaf_value"], float),
        ) for t in document["trees"])
        return cls(features=tuple(document["features"]), trees=trees, metadata=document.get("metadata", {}))

    @classmethod
    def read(cls, path) -> TreeEnsemble:
        """Read a model file written by :meth:`to_json`."""
        path = Path(path)
        return cls.from_json(path.read_text(encoding="utf-8"), source=str(path))

    @classmethod
    def from_lightgbm(cls, dump: dict, *, metadata: dict | None = None) -> TreeEnsemble:
        """Convert LightGBM's ``Booster.dump_model()`` of a binary model with numerical splits.

        Raises ValueError for what this evaluator would get wrong: another objective, a
        sigmoid other than 1, averaged output (random forest) or linear leaves.
        """
        objective = str(dump.get("objective", "")).split()
        if not objective or objective[0] != "binary" or any(
                part.startswith("sigmoid:") and float(part.split(":")[1]) != 1.0 for part in objective[1:]):
            raise ValueError(f"LightGBM objective {dump.get('objective')!r} is not supported: only binary "
                             f"with sigmoid 1")
        if dump.get("average_output"):
            raise ValueError("averaged LightGBM output (boosting='rf') is not supported")
        return cls(features=tuple(dump["feature_names"]),
                   trees=tuple(_tree_from_lightgbm(t["tree_structure"]) for t in dump["tree_info"]),
                   metadata=dict(metadata or {}))


def _tree_from_lightgbm(root: dict) -> Tree:
    columns: dict[str, list] = {name: [] for name in ("feature", "threshold", "missing", "default_left", "left",
                                                      "right")}
    leaves: list[float] = []

    def visit(node: dict) -> int:
        if "leaf_coeff" in node:
            raise ValueError("linear-leaf LightGBM trees (linear_tree=True) are not supported")
        if "leaf_value" in node:
            leaves.append(float(node["leaf_value"]))
            return ~(len(leaves) - 1)
        if node.get("decision_type") != "<=":
            raise ValueError(f"only numerical splits are supported; got decision type {node.get('decision_type')!r}")
        index = len(columns["feature"])
        for name in columns:
            columns[name].append(0)
        columns["feature"][index] = int(node["split_feature"])
        columns["threshold"][index] = float(node["threshold"])
        columns["missing"][index] = MISSING_TYPES.index(str(node["missing_type"]).lower())
        columns["default_left"][index] = bool(node["default_left"])
        columns["left"][index] = visit(node["left_child"])
        columns["right"][index] = visit(node["right_child"])
        return index

    visit(root)
    return Tree(
        feature=np.asarray(columns["feature"], np.int64),
        threshold=np.asarray(columns["threshold"], float),
        missing=np.asarray(columns["missing"], np.int64),
        default_left=np.asarray(columns["default_left"], bool),
        left=np.asarray(columns["left"], np.int64),
        right=np.asarray(columns["right"], np.int64),
        leaf_value=np.asarray(leaves, float),
    )


def _child(tree, n: np.ndarray, value: np.ndarray) -> np.ndarray:
    """LightGBM's decision rule: the child each value goes to from node(s) `n` of a :class:`Tree`."""
    missing = tree.missing[n]
    is_nan = np.isnan(value)
    value = np.where(is_nan & (missing != 2), 0.0, value)
    to_default = ((missing == 1) & (np.abs(value) <= _ZERO)) | ((missing == 2) & is_nan)
    go_left = np.where(to_default, tree.default_left[n], value <= tree.threshold[n])
    return np.where(go_left, tree.left[n], tree.right[n])
