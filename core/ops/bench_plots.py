"""The PNG plots of `envoi bench`: throughput against concurrency, and the
distribution of latencies of the person-to-person and hot-account phases.

matplotlib comes with the `bench` extra (`pip install envoi[bench]`; tasks.py
installs it); without it the bench still runs and says the plots are missing.
"""

import pathlib

THROUGHPUT_PNG = "throughput_vs_concurrency.png"
LATENCY_PNG = "latency_distribution.png"


def write_plots(
    out_dir: pathlib.Path, sweep: list[dict], latencies_ms: dict[str, list[float]], title: str
) -> list[str]:
    """Write both plots; return their file names. Raises ImportError without matplotlib."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    concurrency = [point["concurrency"] for point in sweep]
    axes.plot(concurrency, [point["tps"] for point in sweep], marker="o", label="confirmed/s")
    axes.set_xscale("log", base=2)
    axes.set_xticks(concurrency, [str(c) for c in concurrency])
    axes.set_xlabel("clients in flight (InitiateTransfer + ConfirmTransfer each)")
    axes.set_ylabel("confirmed transfers per second")
    axes.set_title(f"{title}: person to person over gRPC")
    axes.set_ylim(bottom=0)
    latency_axes = axes.twinx()
    latency_axes.plot(
        concurrency, [point["p99_ms"] for point in sweep], color="tab:red", marker="x", label="p99"
    )
    latency_axes.set_ylabel("p99 latency (ms)", color="tab:red")
    latency_axes.set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(out_dir / THROUGHPUT_PNG, dpi=100)
    pyplot.close(figure)

    figure, axes = pyplot.subplots(figsize=(7, 4.5))
    for name, values in latencies_ms.items():
        if values:
            ordered = sorted(values)
            fractions = [(i + 1) / len(ordered) for i in range(len(ordered))]
            axes.plot(ordered, fractions, label=f"{name} ({len(ordered)} transfers)")
    axes.set_xscale("log")
    axes.set_xlabel("latency of InitiateTransfer + ConfirmTransfer (ms, log scale)")
    axes.set_ylabel("fraction of transfers at or below")
    axes.set_title(f"{title}: latency distribution")
    axes.legend()
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(out_dir / LATENCY_PNG, dpi=100)
    pyplot.close(figure)
    return [THROUGHPUT_PNG, LATENCY_PNG]
