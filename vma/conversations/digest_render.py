"""The digest rendered: the text from ``templates/digest.txt.j2``, the age chart as a PNG (matplotlib, when
installed) and as a text picture for places that show no image."""

from __future__ import annotations

import io
import logging
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from vma.templates_dir import template_dir
from vma.conversations.digest_model import BUCKET_COLOURS, PROVIDERS_CHARTED, Digest, ProviderLine

# The digest's logger, as before rendering had its own module.
log = logging.getLogger("vma.conversations.digest")


# -- rendering ---------------------------------------------------------------------------------


def _hours(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} d"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f}%"


def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(str(template_dir())), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["hours"] = _hours
    env.filters["share"] = _share
    return env




def render_text(digest: Digest) -> str:
    local = digest.generated_at.astimezone(ZoneInfo(digest.timezone))
    return _templates().get_template("digest.txt.j2").render(d=digest, local_time=local)


def render_png(digest: Digest) -> bytes | None:
    """The digest's picture: open queries per provider by age, and the week against last week.

    None when nothing is open, or when the picture cannot be drawn: the text digest is the
    fallback and goes out either way.
    """
    charted = charted_providers(digest)
    if not charted:
        return None
    try:
        return _draw_png(digest, charted)
    except Exception:  # matplotlib missing or failing must not cost the manager the digest
        log.exception("drawing the digest chart failed; posting the text digest alone")
        return None


def charted_providers(digest: Digest) -> list[ProviderLine]:
    """The providers the picture shows, in its order: oldest open query first (the bottleneck on top)."""
    return [p for p in digest.providers if p.open][:PROVIDERS_CHARTED]


def _draw_png(digest: Digest, charted: list[ProviderLine]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    # barh draws its first row at the bottom: reversed, the oldest open query ends on top.
    rows = list(reversed(charted))
    names = [f"{p.name}\noldest {_hours(p.oldest_age_business_hours)}" for p in rows]
    figure = Figure(figsize=(10, 2.2 + 0.42 * len(charted)), dpi=100)
    grid = figure.add_gridspec(1, 2, width_ratios=(3.2, 1.2), wspace=0.35)
    axes = figure.add_subplot(grid[0, 0])
    left = [0] * len(rows)
    for index, (label, colour) in enumerate(zip(digest.bucket_labels, BUCKET_COLOURS)):
        widths = [p.buckets[index] for p in rows]
        axes.barh(names, widths, left=left, color=colour, label=label)
        left = [a + b for a, b in zip(left, widths)]
    axes.set_xlabel("open queries (age in business hours)")
    axes.set_title("Open queries by provider, oldest query first", fontsize="medium")
    axes.xaxis.get_major_locator().set_params(integer=True)
    # The legend sits below the plot, never over a bar.
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16 - 0.6 / (1 + len(charted))), ncol=4,
                fontsize="small", frameon=False)

    trend = figure.add_subplot(grid[0, 1])
    weeks = (digest.last_week, digest.this_week)
    labels = ("sent", "answered")
    positions = range(len(labels))
    width = 0.38
    for offset, week, colour in ((-width / 2, weeks[0], "#9e9e9e"), (width / 2, weeks[1], "#1d4f91")):
        values = (week.sent, week.answered)
        bars = trend.bar([x + offset for x in positions], values, width, color=colour, label=week.label)
        trend.bar_label(bars, fontsize="x-small", padding=1)
    trend.set_xticks(list(positions), labels)
    trend.set_title("This week against last", fontsize="medium")
    trend.yaxis.get_major_locator().set_params(integer=True)
    trend.set_xlabel(f"median to answer: {_hours(digest.this_week.median_hours_to_answer)} "
                     f"(last week {_hours(digest.last_week.median_hours_to_answer)})", fontsize="small")
    trend.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16 - 0.6 / (1 + len(charted))), ncol=2,
                 fontsize="small", frameon=False)
    trend.margins(y=0.15)
    figure.subplots_adjust(left=0.3, right=0.97, top=0.88, bottom=0.3 if len(charted) < 4 else 0.2)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


TEXT_BAR_WIDTH = 24
TEXT_BAR_MARKS = ("▁", "▃", "▆", "█")  # under 24 h ... 72 h or more: fuller is older


def render_text_picture(digest: Digest, width: int = TEXT_BAR_WIDTH) -> str:
    """The picture's left panel in text, for surfaces that cannot show the PNG (App Home).

    Same providers, same order, same buckets; each bar is drawn in one mark per bucket, scaled
    so the longest bar is ``width`` marks (a bucket with any query shows at least one mark).
    """
    charted = charted_providers(digest)
    if not charted:
        return ""
    longest = max(p.open for p in charted)
    name_width = min(28, max(len(p.name) for p in charted))
    lines = []
    for p in charted:
        bar = "".join(mark * (max(1, round(count * width / longest)) if count else 0)
                      for mark, count in zip(TEXT_BAR_MARKS, p.buckets))
        lines.append(f"{p.name[:name_width]:<{name_width}} {bar:<{width + 3}} {p.open:>3} open, "
                     f"oldest {_hours(p.oldest_age_business_hours)}")
    legend = "  ".join(f"{mark} {label}" for mark, label in zip(TEXT_BAR_MARKS, digest.bucket_labels))
    return "\n".join(lines + [legend])
