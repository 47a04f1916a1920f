"""The checkers of notebook 08 (behaviour cloning's coefficients in closed form, a valid state from search
coordinates): the package's reference and hand-written solutions pass, plausible wrong answers fail naming the case
(and the slip), and later cells fall back to the reference."""

import numpy as np
import pytest

from gc_helpers import free_pairs as FP
from gc_helpers.exercises import nb08


@pytest.fixture(autouse=True)
def _report_mode(monkeypatch):
    monkeypatch.delenv("GC_CHECKS", raising=False)


def _bc_by_hand(phi, actions, ridge):
    L = len(phi)
    return np.linalg.solve(phi @ phi.T + ridge * L * np.eye(L), actions)


def _bc_by_inverse(phi, actions, ridge):
    """The same formula with an explicit inverse (less accurate, still within the checker's tolerance)."""
    return np.linalg.inv(phi @ phi.T + ridge * len(phi) * np.eye(len(phi))) @ actions


def _bc_ridge_not_per_pair(phi, actions, ridge):
    return np.linalg.solve(phi @ phi.T + ridge * np.eye(len(phi)), actions)


def _bc_feature_weights(phi, actions, ridge):
    return np.linalg.solve(phi.T @ phi + ridge * len(phi) * np.eye(phi.shape[1]), phi.T @ actions)


def _bc_no_ridge(phi, actions, ridge):
    return np.linalg.lstsq(phi @ phi.T, actions, rcond=None)[0]


def _decode_by_hand(u, lim):
    u = np.clip(np.asarray(u, float), -1, 1)
    s = np.empty_like(u)
    s[..., 0] = lim.z_low + (u[..., 0] + 1) / 2 * (lim.z_high - lim.z_low)
    q = np.array([1.0, 0, 0, 0]) + 2 * u[..., 1:5]
    s[..., 1:5] = q / np.linalg.norm(q, axis=-1, keepdims=True)
    s[..., 5:13] = lim.joint_low + (u[..., 5:13] + 1) / 2 * (lim.joint_high - lim.joint_low)
    s[..., 13:] = lim.max_velocity * u[..., 13:]
    return s


def _decode_noclip(u, lim):
    u = np.asarray(u, float)
    s = _decode_by_hand(np.clip(u, -1, 1), lim)
    s[..., 0] = lim.z_low + (u[..., 0] + 1) / 2 * (lim.z_high - lim.z_low)
    s[..., 13:] = lim.max_velocity * u[..., 13:]
    return s


def _decode_unnormalised(u, lim):
    s = _decode_by_hand(u, lim)
    s[..., 1:5] = np.array([1.0, 0, 0, 0]) + 2 * np.clip(np.asarray(u, float), -1, 1)[..., 1:5]
    return s


def test_references_pass():
    assert nb08.check_bc_coefficients(FP.ridge_coefficients).passed
    assert nb08.check_decode_states(FP.decode_states).passed


@pytest.mark.parametrize("fn", [_bc_by_hand, _bc_by_inverse], ids=["kernel solve", "explicit inverse"])
def test_written_bc_solutions_pass(fn):
    assert nb08.check_bc_coefficients(fn).passed


def test_written_state_decoder_passes():
    assert nb08.check_decode_states(_decode_by_hand).passed


@pytest.mark.parametrize("wrong, words", [(_bc_ridge_not_per_pair, "not multiplied by L"),
                                          (_bc_feature_weights, "feature-space weights"),
                                          (_bc_no_ridge, "case 'L = ")],
                         ids=["ridge not per pair", "feature weights", "no ridge"])
def test_wrong_bc_fails(wrong, words):
    r = nb08.check_bc_coefficients(wrong)
    assert r.passed is False and words in r.message
    assert r.fn is FP.ridge_coefficients


@pytest.mark.parametrize("wrong, words", [(_decode_unnormalised, "not normalised"),
                                          (_decode_noclip, "outside [-1, 1]")],
                         ids=["unnormalised quaternion", "no clipping"])
def test_wrong_decoder_fails(wrong, words):
    r = nb08.check_decode_states(wrong)
    assert r.passed is False and words in r.message
