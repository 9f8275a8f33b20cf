"""The benchmark's chart: `python chart.py results.json chart.png` (written by `cargo xtask bench`)."""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

results = json.load(open(sys.argv[1]))
# The medians of the runs (results["measurements"] holds every run).
rows = results["summaries"]
targets = results["targets"]
scenarios = ["chat send", "history", "first byte, 1 client", "first byte, 64 connections"]
names = {
    "chat send": "chat send\n(baseline: echo)",
    "history": "history",
    "first byte, 1 client": "first SSE byte\n1 client",
    "first byte, 64 connections": "first SSE byte\n64 connections",
}
backends = [("baseline", "#9e9e9e"), ("sqlite", "#1f77b4"), ("postgres", "#ff7f0e")]


def find(backend, scenario):
    for row in rows:
        if row["backend"] == backend and row["scenario"] == scenario:
            return row
    return None


fig, (rps_ax, lat_ax) = plt.subplots(1, 2, figsize=(14, 6))
width = 0.27
for k, (backend, color) in enumerate(backends):
    xs, rps, p50, p99 = [], [], [], []
    for i, scenario in enumerate(scenarios):
        row = find(backend, scenario)
        if row is None:
            continue
        xs.append(i + (k - 1) * width)
        rps.append(row["rps"])
        p50.append(row["p50_ms"])
        p99.append(row["p99_ms"])
    spread = [
        [row["rps"] - row["rps_min"], row["rps_max"] - row["rps"]]
        for row in (find(backend, s) for s in scenarios)
        if row is not None
    ]
    bars = rps_ax.bar(
        xs,
        rps,
        width,
        label=backend,
        color=color,
        yerr=list(zip(*spread)) if spread else None,
        capsize=2,
    )
    rps_ax.bar_label(bars, labels=[f"{v:,.0f}" for v in rps], fontsize=7, rotation=90, padding=2)
    lat_ax.bar(xs, p99, width, label=f"{backend} p99", color=color)
    lat_ax.bar(xs, p50, width, label=f"{backend} p50", color="white", alpha=0.55, hatch="//")

# The targets, where they apply.
rps_ax.hlines(targets["chat_send_sqlite_rps"], -0.45, 0.45, colors="#1f77b4", linestyles="--")
rps_ax.hlines(targets["chat_send_postgres_rps"], -0.45, 0.45, colors="#ff7f0e", linestyles="--")
rps_ax.hlines(targets["history_rps"], 0.55, 1.45, colors="black", linestyles="--")
lat_ax.hlines(targets["chat_send_p99_ms"], -0.45, 0.45, colors="black", linestyles="--")
lat_ax.hlines(targets["first_byte_ms"], 1.55, 2.45, colors="black", linestyles="--")

for ax in (rps_ax, lat_ax):
    ax.set_xticks(range(len(scenarios)))
    ax.set_xticklabels([names[s] for s in scenarios], fontsize=8)
    ax.set_yscale("log")
    ax.grid(axis="y", which="both", alpha=0.3)
rps_ax.set_ylabel("requests per second (log)")
rps_ax.set_title("Throughput (dashed: targets)")
rps_ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.12))
lat_ax.set_ylabel("ms (log): p99 solid, p50 hatched")
lat_ax.set_title("Latency: whole response (wrk) or first body byte (probe); dashed: targets")
handles, labels = lat_ax.get_legend_handles_labels()
lat_ax.legend(
    handles[::2],
    [label.replace(" p99", "") for label in labels[::2]],
    fontsize=8,
    ncol=3,
    loc="upper center",
    bbox_to_anchor=(0.5, -0.12),
)
fig.suptitle(
    f"Botwire, cargo xtask bench, {results['started']}: 2 cores, loopback, 64 connections; "
    "medians of the runs, whiskers: their range"
)
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
