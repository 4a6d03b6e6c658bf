"""Classic networks of the lecture's zoo, small enough to read top to bottom (NumPy only).

* :class:`Perceptron`: Rosenblatt's threshold unit and its error-driven learning rule.
* :class:`HopfieldNetwork`: an associative memory with fixed (Hebbian) weights and an energy.
* :class:`SelfOrganizingMap`: Kohonen's map of a data set onto a 2D grid of units.
* :class:`RBFNetwork`: Gaussian units around centres, a linear read-out fitted by least squares.

All of them take float arrays ``(n_samples, n_features)`` and raise ``ValueError`` with a message
that says what was wrong for bad shapes, non-finite values or wrong labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "perceptron_update",
    "Perceptron",
    "HopfieldNetwork",
    "SelfOrganizingMap",
    "RBFNetwork",
]


def _matrix(x: object, name: str, n_features: int | None = None) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 2D array (n_samples, n_features), got shape {a.shape}")
    if n_features is not None and a.shape[1] != n_features:
        raise ValueError(f"{name} has {a.shape[1]} features, but the model was built for {n_features}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} contains NaN or infinite values; remove or impute them first")
    return a


def _labels01(y: object, n: int) -> np.ndarray:
    a = np.asarray(y).ravel()
    if a.shape[0] != n:
        raise ValueError(f"y has {a.shape[0]} labels for {n} samples")
    if not np.isin(a, (0, 1)).all():
        raise ValueError(f"perceptron labels must be 0 or 1, got values {np.unique(a)[:5]}")
    return a.astype(np.int64)


def perceptron_update(w: np.ndarray, b: float, x: np.ndarray, y: int, lr: float = 1.0) -> tuple[np.ndarray, float]:
    """One step of the perceptron learning rule for a sample ``x`` with label ``y`` in {0, 1}.

    The prediction is ``step(w @ x + b)``; the weights move by ``lr * (y - prediction) * x`` (and the
    bias by ``lr * (y - prediction)``), so nothing changes when the prediction is right. Returns new
    arrays; the inputs are not modified.
    """
    x = np.asarray(x, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    if x.shape != w.shape:
        raise ValueError(f"x has shape {x.shape} but w has shape {w.shape}; they must match")
    if y not in (0, 1):
        raise ValueError(f"y must be 0 or 1, got {y!r}")
    pred = int(w @ x + b > 0)
    err = y - pred
    return w + lr * err * x, float(b + lr * err)


@dataclass
class Perceptron:
    """Rosenblatt's perceptron: ``step(w·x + b)``, trained by the perceptron rule.

    ``fit`` sweeps the data ``epochs`` times in a random order (set by ``seed``) and records the
    number of misclassified training samples after each sweep in ``errors_``. On linearly separable
    data the count reaches 0 (the perceptron convergence theorem); otherwise it never settles.
    """

    lr: float = 1.0
    epochs: int = 20
    seed: int = 0
    w_: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)
    b_: float = 0.0
    errors_: list[int] = field(default_factory=list, repr=False)

    def fit(self, X: object, y: object) -> Perceptron:
        """Train on ``X`` (n, d) with labels ``y`` in {0, 1}; returns ``self``."""
        X = _matrix(X, "X")
        y = _labels01(y, X.shape[0])
        if self.epochs < 1 or self.lr <= 0:
            raise ValueError(f"epochs must be >= 1 and lr > 0, got epochs={self.epochs}, lr={self.lr}")
        rng = np.random.default_rng(self.seed)
        self.w_, self.b_, self.errors_ = np.zeros(X.shape[1]), 0.0, []
        for _ in range(self.epochs):
            for i in rng.permutation(X.shape[0]):
                self.w_, self.b_ = perceptron_update(self.w_, self.b_, X[i], int(y[i]), self.lr)
            self.errors_.append(int((self.predict(X) != y).sum()))
        return self

    def predict(self, X: object) -> np.ndarray:
        """Labels 0/1 for the rows of ``X``."""
        if self.w_.size == 0:
            raise ValueError("this Perceptron is not fitted yet; call fit(X, y) first")
        X = _matrix(X, "X", self.w_.size)
        return (X @ self.w_ + self.b_ > 0).astype(np.int64)


class HopfieldNetwork:
    """A Hopfield network over ``n`` binary units with states in {-1, +1}.

    :meth:`store` writes patterns into the weights by Hebb's rule, ``W = (1/n) Σ_p x_p x_pᵀ`` with
    a zero diagonal; the weights are then fixed. :meth:`recall` updates one unit at a time,
    ``s_i ← sign(Σ_j W_ij s_j)``, which never increases the energy ``E(s) = -½ sᵀ W s``, so the
    state slides into a minimum: ideally the stored pattern closest to the start.
    """

    def __init__(self, n_units: int) -> None:
        if not isinstance(n_units, (int, np.integer)) or n_units < 2:
            raise ValueError(f"n_units must be an integer >= 2, got {n_units!r}")
        self.n_units = int(n_units)
        self.weights = np.zeros((self.n_units, self.n_units))
        self.n_patterns = 0

    def _states(self, x: object, name: str) -> np.ndarray:
        a = np.asarray(x, dtype=np.float64)
        if a.ndim == 1:
            a = a[None, :]
        if a.ndim != 2 or a.shape[1] != self.n_units:
            raise ValueError(f"{name} must have {self.n_units} units per pattern, got shape {np.shape(x)}")
        if not np.isin(a, (-1.0, 1.0)).all():
            raise ValueError(f"{name} must contain only -1 and +1 (map bits b with 2*b - 1)")
        return a

    def store(self, patterns: object) -> HopfieldNetwork:
        """Add patterns (k, n) of ±1 to the memory with Hebb's rule; returns ``self``."""
        p = self._states(patterns, "patterns")
        self.weights += p.T @ p / self.n_units
        np.fill_diagonal(self.weights, 0.0)
        self.n_patterns += p.shape[0]
        return self

    def energy(self, state: object) -> float:
        """``E(s) = -½ sᵀ W s`` of one state."""
        s = self._states(state, "state")[0]
        return float(-0.5 * s @ self.weights @ s)

    def recall(self, state: object, sweeps: int = 10, seed: int = 0) -> tuple[np.ndarray, list[float]]:
        """Asynchronous updates from ``state`` until nothing changes (or ``sweeps`` sweeps).

        Returns the final state and the energy after every sweep (the first entry is the start).
        """
        s = self._states(state, "state")[0].copy()
        rng = np.random.default_rng(seed)
        energies = [self.energy(s)]
        for _ in range(sweeps):
            changed = False
            for i in rng.permutation(self.n_units):
                new = 1.0 if self.weights[i] @ s >= 0 else -1.0
                changed |= new != s[i]
                s[i] = new
            energies.append(self.energy(s))
            if not changed:
                break
        return s, energies


class SelfOrganizingMap:
    """Kohonen's self-organizing map: ``rows × cols`` units on a grid, each with a weight vector.

    Each training step picks a sample, finds its best-matching unit (closest weight vector) and
    pulls that unit and its grid neighbours (Gaussian of the grid distance, width ``sigma``) towards
    the sample. Learning rate and width shrink linearly, so the map first orders itself and then
    fine-tunes: neighbouring units end up describing similar samples.
    """

    def __init__(self, rows: int, cols: int, lr: float = 0.5, sigma: float | None = None, seed: int = 0) -> None:
        if rows < 1 or cols < 1:
            raise ValueError(f"rows and cols must be >= 1, got {rows} x {cols}")
        if lr <= 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        self.rows, self.cols, self.lr, self.seed = int(rows), int(cols), float(lr), int(seed)
        self.sigma = float(sigma) if sigma is not None else max(rows, cols) / 2.0
        self.grid = np.array([(r, c) for r in range(rows) for c in range(cols)], dtype=np.float64)
        self.weights = np.zeros((0, 0))

    def fit(self, X: object, epochs: int = 10) -> SelfOrganizingMap:
        """Train on ``X`` (n, d) for ``epochs`` sweeps; units start at random samples."""
        X = _matrix(X, "X")
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        rng = np.random.default_rng(self.seed)
        self.weights = X[rng.integers(0, X.shape[0], self.rows * self.cols)].copy()
        total, t = epochs * X.shape[0], 0
        for _ in range(epochs):
            for i in rng.permutation(X.shape[0]):
                frac = 1.0 - t / total
                lr, sigma = self.lr * frac, max(self.sigma * frac, 0.5)
                bmu = int(np.argmin(((self.weights - X[i]) ** 2).sum(axis=1)))
                d2 = ((self.grid - self.grid[bmu]) ** 2).sum(axis=1)
                self.weights += (lr * np.exp(-d2 / (2 * sigma**2)))[:, None] * (X[i] - self.weights)
                t += 1
        return self

    def winners(self, X: object) -> np.ndarray:
        """Grid position ``(row, col)`` of the best-matching unit of every row of ``X``: shape (n, 2)."""
        if self.weights.size == 0:
            raise ValueError("this SelfOrganizingMap is not fitted yet; call fit(X) first")
        X = _matrix(X, "X", self.weights.shape[1])
        d = ((X[:, None, :] - self.weights[None, :, :]) ** 2).sum(axis=2)
        return self.grid[d.argmin(axis=1)].astype(np.int64)

    def quantization_error(self, X: object) -> float:
        """Mean distance between each sample and its best-matching unit's weights."""
        X = _matrix(X, "X", self.weights.shape[1] if self.weights.size else None)
        w = self.weights[[r * self.cols + c for r, c in self.winners(X)]]
        return float(np.sqrt(((X - w) ** 2).sum(axis=1)).mean())


class RBFNetwork:
    """A radial basis function network: ``y = Σ_k a_k exp(-|x - c_k|² / (2 s²)) + a_0``.

    The ``n_centers`` centres are chosen by k-means on the training inputs, the width ``s`` is the
    median distance between centres times ``width_scale``, and the output weights are fitted by
    ridge-regularized least squares (``alpha``): only the last layer is learned from the targets.
    """

    def __init__(self, n_centers: int = 20, width_scale: float = 1.0, alpha: float = 1e-3, seed: int = 0) -> None:
        if n_centers < 1 or width_scale <= 0 or alpha < 0:
            raise ValueError(f"need n_centers >= 1, width_scale > 0, alpha >= 0; got {n_centers}, {width_scale}, {alpha}")
        self.n_centers, self.width_scale, self.alpha, self.seed = int(n_centers), float(width_scale), float(alpha), int(seed)
        self.centers = np.zeros((0, 0))
        self.width = 1.0
        self.coef = np.zeros(0)

    def _design(self, X: np.ndarray) -> np.ndarray:
        d2 = ((X[:, None, :] - self.centers[None, :, :]) ** 2).sum(axis=2)
        return np.hstack([np.exp(-d2 / (2 * self.width**2)), np.ones((X.shape[0], 1))])

    def fit(self, X: object, y: object) -> RBFNetwork:
        """Place centres on ``X`` (n, d) and fit the read-out to targets ``y`` (n,); returns ``self``."""
        from sklearn.cluster import KMeans

        X = _matrix(X, "X")
        y = np.asarray(y, dtype=np.float64).ravel()
        if y.shape[0] != X.shape[0] or not np.all(np.isfinite(y)):
            raise ValueError(f"y must hold {X.shape[0]} finite targets, got shape {y.shape}")
        if self.n_centers > X.shape[0]:
            raise ValueError(f"n_centers={self.n_centers} is more than the {X.shape[0]} training samples")
        km = KMeans(self.n_centers, n_init=4, random_state=self.seed).fit(X)
        self.centers = km.cluster_centers_
        if self.n_centers > 1:
            dc = np.sqrt(((self.centers[:, None] - self.centers[None]) ** 2).sum(-1))
            self.width = float(np.median(dc[np.triu_indices(self.n_centers, 1)])) * self.width_scale
        else:
            self.width = float(np.sqrt(((X - self.centers) ** 2).sum(1)).mean()) * self.width_scale
        self.width = max(self.width, 1e-8)
        phi = self._design(X)
        reg = self.alpha * np.eye(phi.shape[1])
        reg[-1, -1] = 0.0  # the bias is not penalized
        self.coef = np.linalg.solve(phi.T @ phi + reg, phi.T @ y)
        return self

    def hidden(self, X: object) -> np.ndarray:
        """Activations of the Gaussian units for the rows of ``X``: shape (n, n_centers)."""
        if self.coef.size == 0:
            raise ValueError("this RBFNetwork is not fitted yet; call fit(X, y) first")
        return self._design(_matrix(X, "X", self.centers.shape[1]))[:, :-1]

    def predict(self, X: object) -> np.ndarray:
        """Predicted targets for the rows of ``X``."""
        if self.coef.size == 0:
            raise ValueError("this RBFNetwork is not fitted yet; call fit(X, y) first")
        return self._design(_matrix(X, "X", self.centers.shape[1])) @ self.coef
