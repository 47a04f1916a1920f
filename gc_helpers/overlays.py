"""Decorating and combining video frames: captions, the α colour bar of a compressed trajectory, side by side.

Taught in notebooks/03_cem_compression.ipynb (the α bar) and used wherever videos are compared (notebooks 02–07);
``gc_helpers.video`` re-exports every name. Pure numpy + Pillow: nothing here renders.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .checks import finite_array


def check_frames(frames, name: str = "frames") -> np.ndarray:
    """``frames`` as a (T, H, W, 3) uint8 array with T >= 1, or a ValueError saying what is wrong."""
    if hasattr(frames, "frames"):  # a video.Clip
        frames = frames.frames
    f = np.asarray(frames)
    if f.ndim != 4 or f.shape[-1] != 3 or min(f.shape) < 1:
        raise ValueError(f"{name} has shape {f.shape}; expected (T, H, W, 3) RGB frames with T >= 1")
    if f.dtype != np.uint8:
        raise ValueError(f"{name} has dtype {f.dtype}; expected uint8 (values 0–255)")
    return f


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _text_strip(texts: Sequence[str], width: int, height: int, fg=(255, 255, 255), bg=(30, 30, 30)) -> np.ndarray:
    """One strip (n, height, width, 3) with each text drawn left-aligned (identical texts drawn once)."""
    from PIL import Image, ImageDraw

    font = _font(max(8, int(height * 0.7)))
    cache: dict[str, np.ndarray] = {}
    out = np.empty((len(texts), height, width, 3), dtype=np.uint8)
    for i, text in enumerate(texts):
        if text not in cache:
            img = Image.new("RGB", (width, height), bg)
            ImageDraw.Draw(img).text((4, height // 2), text, fill=fg, font=font, anchor="lm")
            cache[text] = np.asarray(img)
        out[i] = cache[text]
    return out


def _check_texts(texts, n: int, name: str) -> list[str]:
    if isinstance(texts, str):
        return [texts] * n
    texts = list(texts)
    if len(texts) != n or not all(isinstance(t, str) for t in texts):
        raise ValueError(f"{name} has {len(texts)} entries; expected one string per frame ({n}) or a single string")
    return texts


def check_px(value, name: str, low: int, high: int) -> int:
    """``value`` as a whole number of pixels in [low, high], or a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not low <= value <= high:
        raise ValueError(f"{name}={value!r}: must be an integer from {low} to {high}")
    return int(value)


def add_captions(frames, captions, strip_height: int = 18, position: str = "top") -> np.ndarray:
    """Frames with a text strip above (``position="top"``) or below ("bottom"); one caption per frame.

    E.g. ``add_captions(clip.frames, clip.captions())`` shows step, return so far and forward velocity.
    """
    f = check_frames(frames)
    texts = _check_texts(captions, len(f), "captions")
    strip_height = check_px(strip_height, "strip_height", 8, 200)
    if position not in ("top", "bottom"):
        raise ValueError(f"position={position!r}: allowed: 'top', 'bottom'")
    strip = _text_strip(texts, f.shape[2], strip_height)
    return np.concatenate([strip, f] if position == "top" else [f, strip], axis=1)


def alpha_colors(alpha, cmap: str | None = None) -> tuple[np.ndarray, str, float, float]:
    """RGB uint8 colours (n, 3) for coefficients α, with the colormap and limits used.

    Default colormap: "coolwarm" with limits ±max|α| when α has both signs (white = 0), else "viridis"
    from 0 to max|α| (or from min to max for the sign at hand).
    """
    import matplotlib

    a = finite_array(alpha, "alpha", ndim=1)
    signed = a.min() < 0 < a.max()
    if cmap is None:
        cmap = "coolwarm" if signed else "viridis"
    try:
        cm = matplotlib.colormaps[cmap]
    except KeyError:
        raise ValueError(f"cmap={cmap!r}: not a matplotlib colormap name (e.g. 'viridis', 'coolwarm')") from None
    m = float(np.max(np.abs(a))) or 1.0
    lo, hi = (-m, m) if signed else ((0.0, m) if a.max() > 0 else (-m, 0.0))
    colors = cm((a - lo) / (hi - lo))[:, :3]
    return np.round(colors * 255).astype(np.uint8), cmap, lo, hi


def add_alpha_bar(
    frames,
    alpha,
    bar_height: int = 14,
    cmap: str | None = None,
    captions=None,
    caption_height: int = 18,
) -> np.ndarray:
    """Frames with a colour bar below them showing α_t for every step, and a marker at the current step.

    ``alpha`` has one coefficient per frame (T) or per action (T − 1: frame t shows the state in which
    action t is taken; the last frame, after the last action, keeps the marker on the last step).
    Colours: see ``alpha_colors``. ``captions`` (optional: one string per frame, or one string) adds a
    text strip above the frames, e.g. ``clip.captions()``.
    """
    f = check_frames(frames)
    T, H, W, _ = f.shape
    a = finite_array(alpha, "alpha", ndim=1) if not isinstance(alpha, str) else np.array([])
    if a.size not in (T, T - 1) or a.size == 0:
        raise ValueError(f"alpha has shape {np.shape(alpha)}; expected one coefficient per frame ({T}) "
                         f"or per action ({T - 1})")
    bar_height = check_px(bar_height, "bar_height", 4, 200)
    colors, _, _, _ = alpha_colors(a, cmap)
    n = a.size
    column_step = np.minimum(np.arange(W) * n // W, n - 1)  # the step each pixel column shows
    row = colors[column_step]  # (W, 3)
    marker = max(2, W // max(n, 1))
    out = np.empty((T, H + bar_height, W, 3), dtype=np.uint8)
    out[:, :H] = f
    out[:, H:] = row[None, None]
    out[:, H, :] = 40  # a dark separator line between picture and bar
    for t in range(T):
        step = min(t, n - 1)
        c0 = min(int(step * W / n), W - marker)  # first column of this step
        c1 = c0 + marker
        out[t, H + 1:, max(c0 - 1, 0):min(c1 + 1, W)] = 255  # white outline
        out[t, H + 3:, c0:c1] = 0  # black tick
    if captions is not None:
        out = add_captions(out, captions, strip_height=caption_height, position="top")
    return out


def side_by_side(*frame_lists, labels: Sequence[str] | None = None, gap: int = 4, label_height: int = 18):
    """Videos next to each other (T = the longest; shorter ones hold their last frame), optional labels on top.

    Frames of different heights are padded at the bottom (black).
    """
    if not frame_lists:
        raise ValueError("side_by_side needs at least one frame list")
    fs = [check_frames(f, f"frame_lists[{i}]") for i, f in enumerate(frame_lists)]
    if labels is not None:
        labels = list(labels) if not isinstance(labels, str) else [labels]
        if len(labels) != len(fs) or not all(isinstance(s, str) for s in labels):
            raise ValueError(f"labels={labels!r}: expected {len(fs)} strings, one per video")
    gap = check_px(gap, "gap", 0, 200)
    T = max(len(f) for f in fs)
    H = max(f.shape[1] for f in fs)
    parts = []
    for i, f in enumerate(fs):
        if len(f) < T:
            f = np.concatenate([f, np.repeat(f[-1:], T - len(f), axis=0)])
        if f.shape[1] < H:
            f = np.concatenate([f, np.zeros((T, H - f.shape[1], f.shape[2], 3), np.uint8)], axis=1)
        if labels is not None:
            f = add_captions(f, labels[i], strip_height=label_height)
        if i and gap:
            parts.append(np.full((T, f.shape[1], gap, 3), 255, np.uint8))
        parts.append(f)
    return np.concatenate(parts, axis=2)


