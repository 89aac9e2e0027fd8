"""PNG for the ``python`` engine: the SVG writer's scene drawn with matplotlib's Agg canvas.

matplotlib is imported inside :func:`_raster_png` only, so that importing the renderers
stays cheap and matplotlib stays an optional extra.
"""

from __future__ import annotations

import io
from typing import Any

from agentpatterns.adapters.render.svg import _Scene


def _raster_png(scene: _Scene) -> bytes:
    """Rasterise a scene with matplotlib's Agg canvas (no pyplot, no global state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Ellipse, FancyBboxPatch, PathPatch, Polygon, Rectangle
    from matplotlib.path import Path

    # one point per SVG pixel at 72 dpi
    fig = Figure(figsize=(scene.width / 72, scene.height / 72), dpi=72)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, scene.width)
    ax.set_ylim(scene.height, 0)
    ax.set_axis_off()
    z = 0
    for grp in scene.groups:
        for p in grp.prims:
            z += 1
            alpha = p.opacity * grp.opacity
            kw: dict[str, Any] = {
                "facecolor": p.fill if p.fill != "none" else "none",
                "edgecolor": p.stroke if p.stroke != "none" else "none",
                "linewidth": p.width if p.stroke != "none" else 0.0,
                "alpha": alpha,
                "zorder": z,
            }
            if p.dash:
                kw["linestyle"] = (0, tuple(max(d, 0.01) / max(p.width, 0.1) for d in p.dash))
                kw["capstyle"] = "round" if p.dash[0] < 1 else "butt"
            g = p.geom
            if p.op == "rect":
                x, y, w, h, r = g
                if r:
                    r = min(r, w / 2, h / 2)
                    ax.add_patch(FancyBboxPatch((x + r, y + r), w - 2 * r, h - 2 * r,
                                                boxstyle=f"round,pad={r}", **kw))  # fmt: skip
                else:
                    ax.add_patch(Rectangle((x, y), w, h, **kw))
            elif p.op == "ellipse":
                cx, cy, rx, ry = g
                ax.add_patch(Ellipse((cx, cy), 2 * rx, 2 * ry, **kw))
            elif p.op == "polygon":
                ax.add_patch(Polygon(list(g), closed=True, joinstyle="miter", **kw))
            elif p.op == "path":
                (pts,) = g
                codes = [Path.MOVETO] + [Path.CURVE4] * (len(pts) - 1)
                kw["facecolor"] = "none"
                ax.add_patch(PathPatch(Path(list(pts), codes), **kw))
            else:
                x, y = g
                ax.text(x, y, p.text, fontsize=p.size, color=p.fill, alpha=alpha, zorder=z,
                        ha={"middle": "center"}.get(p.anchor, "left"), va="center_baseline",
                        fontweight="bold" if p.bold else "normal",
                        fontfamily=["DejaVu Sans", "sans-serif"])  # fmt: skip
    # twice the SVG's size, less for huge drawings (PNG encoding time grows with pixels)
    scale = min(2.0, (12e6 / (scene.width * scene.height)) ** 0.5, 16000 / scene.width,
                16000 / scene.height)  # fmt: skip
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72 * scale, facecolor="white",
                pil_kwargs={"compress_level": 3})  # fmt: skip
    return buf.getvalue()
