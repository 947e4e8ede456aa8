"""Peak memory of a large synthetic bank: generated to disk, then read back through a MixedDataset.

    python benchmarks/bank_memory.py --size 1000000 --dir /tmp/bank [--device cuda]

Run in a fresh process (throughput.py does), so the peak resident set size is this bank's work plus
the interpreter and libraries, which are measured first and printed as the baseline. Prints
tab-separated `measure<TAB>value` lines.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import NUM_CLASSES, random_images, trained_artifact  # noqa: E402

from ganaug.synth.bank import SyntheticBank  # noqa: E402
from ganaug.synth.mixing import MixedDataset  # noqa: E402


def rss_mib() -> dict[str, float]:
    """This process's resident memory now, MiB: anonymous (heap, tensors) and file-backed (memory maps)."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return {key: int(fields[key].split()[0]) / 1024 for key in ("RssAnon", "RssFile")}


class PeakMemory:
    """Peak anonymous and file-backed resident memory, polled every 5 ms while the `with` block runs."""

    def __init__(self) -> None:
        self.peak = rss_mib()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = {k: max(v, self.peak[k]) for k, v in rss_mib().items()}

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    """Generate the bank, read it back, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--width", type=int, default=32, help="the dcgan generator's base_channels")
    args = parser.parse_args()
    device = torch.device(args.device)
    artifact = trained_artifact((1, 28, 28), args.dir / "generator", base_channels=args.width)
    artifact.net.to(device)
    real = random_images(1000, (1, 28, 28))
    baseline = rss_mib()
    counts = {c: args.size // NUM_CLASSES for c in range(NUM_CLASSES)}
    start = time.perf_counter()
    with PeakMemory() as generating:
        bank = SyntheticBank.generate(artifact, counts, args.dir / "bank", batch_size=4096, progress=False)
    seconds = time.perf_counter() - start
    with PeakMemory() as reading:
        mixed = MixedDataset(real, SyntheticBank.load(args.dir / "bank"), return_source=True)
        for i in torch.randperm(len(mixed))[:100_000].tolist():
            mixed[i]
    disk = (args.dir / "bank" / "images.npy").stat().st_size + (args.dir / "bank" / "labels.npy").stat().st_size
    floats = len(bank) * 28 * 28 * 4 / 2**20
    rows = [
        ("samples", f"{len(bank):,}"),
        ("bank on disk (images + labels)", f"{disk / 2**20:,.0f} MiB"),
        ("the same images as float32", f"{floats:,.0f} MiB"),
        ("generation", f"{seconds:.1f} s ({len(bank) / seconds:,.0f} samples/s, generator width {args.width})"),
        (
            "host memory before the bank (interpreter, torch, generator)",
            f"{baseline['RssAnon']:,.0f} MiB anonymous, {baseline['RssFile']:,.0f} MiB file-backed",
        ),
    ]
    for name, peak in (("generating", generating.peak), ("100,000 random reads via MixedDataset", reading.peak)):
        rows.append(
            (
                f"peak host memory while {name}",
                f"{peak['RssAnon']:,.0f} MiB anonymous (+{peak['RssAnon'] - baseline['RssAnon']:,.0f}), "
                f"{peak['RssFile']:,.0f} MiB file-backed (+{peak['RssFile'] - baseline['RssFile']:,.0f}, "
                "page cache of the memory map)",
            )
        )
    if device.type == "cuda":
        rows.append(("peak device memory", f"{torch.cuda.max_memory_allocated(device) / 2**20:,.0f} MiB"))
    for name, value in rows:
        print(f"{name}\t{value}")


if __name__ == "__main__":
    main()
