"""The data gates' LR fit in the span of the training rows equals the plain scikit-learn pipeline."""

from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from stronglens.gates.model_free import fit_lr_scores, row_space_basis


def problem(n: int, p: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(size=(n, p)) + 0.15 * y[:, None] * (np.arange(p) % 7 == 0)
    x[:, 3] = 2.5  # a constant column, as a clipped pixel gives
    return x[: n * 3 // 4], y[: n * 3 // 4], x[n * 3 // 4 :]


def pipeline_scores(train_x, train_y, test_x, tol: float) -> np.ndarray:
    """The scaler + LR pipeline the gates used before (tol 1e-4 is scikit-learn's default)."""
    model = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=20000, tol=tol))
    return model.fit(train_x, train_y).decision_function(test_x)


def assert_as_close_as_the_pipeline(train_x, train_y, test_x):
    """fit_lr_scores is within the default solver's own distance of the converged optimum."""
    optimum = pipeline_scores(train_x, train_y, test_x, tol=1e-10)
    default = pipeline_scores(train_x, train_y, test_x, tol=1e-4)
    got = fit_lr_scores(train_x, train_y, test_x)
    scale = np.abs(optimum).max()
    assert np.abs(got - optimum).max() <= max(3 * np.abs(default - optimum).max(), 1e-4 * scale)
    assert np.abs(got - optimum).max() < 1e-2 * scale
    assert spearmanr(got, optimum).statistic > 0.999


def test_fewer_rows_than_features_gives_the_pipeline_scores():
    assert_as_close_as_the_pipeline(*problem(240, 900))


def test_more_rows_than_features_is_the_plain_fit():
    assert_as_close_as_the_pipeline(*problem(800, 40))


def test_row_space_basis_is_orthonormal_and_spans_the_rows():
    a = np.random.default_rng(1).normal(size=(30, 200))
    a[5] = a[2] + a[7]  # rank 29
    v = row_space_basis(a)
    assert v.shape == (200, 29)
    assert np.allclose(v.T @ v, np.eye(29), atol=1e-8)
    assert np.allclose(a @ v @ v.T, a, atol=1e-8)
