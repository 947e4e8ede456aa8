"""Throughput and memory of ganaug against plain PyTorch loops measured in the same run.

    python benchmarks/throughput.py                       # every section on the CPU
    python benchmarks/throughput.py --device cuda         # on a GPU
    python benchmarks/throughput.py --sections gan --batches 64,256 --compile reduce-overhead --autocast bf16

Sections (each prints a table; a ratio > 1 means ganaug is faster than the reference):
- gan: GAN training images/s (one D and one G update per batch) through `ganaug.gan.training.train_gan`
  (Lightning, the `gan=dcgan` config's networks, its default step settings: resident data, Adam "auto")
  versus `reference.gan_steps_per_second` (same networks, a hand-written loop), at each batch size, 32x32
  gray and RGB; with `--compile`, `--autocast` or `--channels-last` a second ganaug row uses them too, with
  the largest weight difference it ends with against the default row (the same run otherwise);
- generate: samples/s of `SyntheticBank.generate` (28x28, memory-mapped bank on disk) versus a loop
  that generates into a list and saves one .npy;
- mixing: classifier epoch seconds over a `MixedDataset` and over `GANAugDataModule.train_dataloader()`
  versus over a plain TensorDataset of the same size, one hand-written training loop for all;
- memory: peak host memory (and device memory on a GPU) while a bank of `--bank-size` 28x28 samples is
  generated and then read back through a MixedDataset, measured in a fresh process (bank_memory.py);
- quality: seconds of the bank's quality metrics (domain features, FID/KID, precision/recall/density/
  coverage, pixel memorisation; `ganaug.quality.report.quality_report` without CAS) with the extractor on
  `--device` versus the same on the CPU (on the CPU both rows are the CPU: the ratio is about 1);
- auto: seconds of `auto`'s decision on random 16x16 data with `--workers` candidates trained at once versus
  one at a time (`AutoSettings.workers`), what each chose, and whether every score is the same (exact only
  at the same threads per fit: on the CPU the workers split the threads).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference  # noqa: E402

from ganaug.classify.model import SmallCNN  # noqa: E402
from ganaug.cli.config.location import config_dir  # noqa: E402
from ganaug.data.dataset import ImageDataset  # noqa: E402
from ganaug.gan.discriminators import build_discriminator  # noqa: E402
from ganaug.gan.export import GeneratorArtifact, export_generator  # noqa: E402
from ganaug.gan.generators import build_generator  # noqa: E402
from ganaug.gan.module import ConditionalGAN  # noqa: E402
from ganaug.gan.training import train_gan  # noqa: E402
from ganaug.synth.bank import SyntheticBank  # noqa: E402
from ganaug.synth.datamodule import GANAugDataModule  # noqa: E402
from ganaug.synth.mixing import MixedDataset  # noqa: E402

NUM_CLASSES = 10
SECTIONS = ("gan", "generate", "mixing", "memory", "quality", "auto")


def gan_module_kwargs() -> dict:
    """The GAN module settings of the shipped `gan=dcgan` config (the networks both loops train)."""
    with initialize_config_dir(str(config_dir()), version_base="1.3"):
        module = OmegaConf.to_container(compose("config", overrides=["gan=dcgan"]).gan.module, resolve=True)
    module.pop("_target_")
    return module


def random_images(n: int, shape: tuple[int, int, int], seed: int = 0) -> ImageDataset:
    """`n` random uint8 images of `shape` with balanced labels (speed does not depend on content)."""
    gen = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=gen)
    labels = torch.arange(n) % NUM_CLASSES
    return ImageDataset(images, labels, [str(c) for c in range(NUM_CLASSES)])


class StepTimer(pl.Callback):
    """Wall-clock seconds from the start of batch `warmup` to the end of training (GPU work included)."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.seconds = warmup, 0.0, 0.0

    def on_train_batch_start(self, trainer: pl.Trainer, module: pl.LightningModule, batch, batch_idx: int) -> None:
        if trainer.global_step == self.warmup * (module.hparams.d_steps + 1):
            reference.sync(module.device)
            self.start = time.perf_counter()

    def on_train_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        reference.sync(module.device)
        self.seconds = time.perf_counter() - self.start


def trainer_kwargs(device: torch.device, callbacks: list) -> dict:
    """Lightning settings for one device, quiet."""
    accelerator = "gpu" if device.type == "cuda" else "cpu"
    return {"accelerator": accelerator, "devices": 1, "enable_progress_bar": False, "callbacks": callbacks}


def _ganaug_gan(
    data: ImageDataset, module_kwargs: dict, batch: int, steps: int, warmup: int, device: torch.device
) -> tuple[float, ConditionalGAN]:
    """ganaug's images/s at `batch` over `steps` timed steps, and the trained GAN."""
    timer = StepTimer(warmup)
    gan = train_gan(
        data,
        list(range(NUM_CLASSES)),
        steps=warmup + steps,
        batch_size=batch,
        class_balance="none",
        module_kwargs=module_kwargs,
        trainer_kwargs=trainer_kwargs(device, [timer]),
    )
    return steps * batch / timer.seconds, gan


def _weight_gap(a: ConditionalGAN, b: ConditionalGAN) -> float:
    """The largest absolute difference between the two GANs' generator weights."""
    pairs = zip(a.generator.parameters(), b.generator.parameters(), strict=True)
    return max(float((x.detach().float() - y.detach().float()).abs().max()) for x, y in pairs)


def bench_gan(
    device: torch.device, batches: list[int], steps: int, warmup: int, tuned: dict
) -> list[list[str]]:
    """Rows: shape, batch, settings, ganaug img/s, reference img/s, ratio, weight gap to the default row."""
    module_kwargs = gan_module_kwargs()
    rows = []
    for shape in ((1, 32, 32), (3, 32, 32)):
        for batch in batches:
            data = random_images(max(4 * batch, 2048), shape)
            ours, default_gan = _ganaug_gan(data, module_kwargs, batch, steps, warmup, device)
            torch.manual_seed(0)
            g = build_generator(
                module_kwargs["generator"],
                image_shape=shape,
                num_classes=NUM_CLASSES,
                **module_kwargs["generator_kwargs"],
            )
            d = build_discriminator(
                module_kwargs["discriminator"],
                image_shape=shape,
                num_classes=NUM_CLASSES,
                **module_kwargs["discriminator_kwargs"],
            )
            ref = batch * reference.gan_steps_per_second(
                g,
                d,
                data.images,
                data.labels,
                batch_size=batch,
                steps=steps,
                warmup=warmup,
                device=device,
                latent_dim=g.latent_dim,
                ema_decay=module_kwargs["ema_decay"],
            )
            image = "x".join(map(str, shape))
            rows.append([image, str(batch), "default", f"{ours:,.0f}", f"{ref:,.0f}", f"{ours / ref:.2f}", "0"])
            print("  gan", rows[-1], flush=True)
            if tuned:
                fast, tuned_gan = _ganaug_gan(data, {**module_kwargs, **tuned}, batch, steps, warmup, device)
                label = ", ".join(f"{k}={v}" for k, v in tuned.items())
                gap = f"{_weight_gap(tuned_gan, default_gan):.1e}"
                rows.append([image, str(batch), label, f"{fast:,.0f}", f"{ref:,.0f}", f"{fast / ref:.2f}", gap])
                print("  gan", rows[-1], flush=True)
    return rows


def trained_artifact(
    shape: tuple[int, int, int], directory: Path, base_channels: int | None = None
) -> GeneratorArtifact:
    """An exported (untrained) dcgan generator for `shape`: generation speed does not depend on the weights.

    `base_channels` overrides the config's generator width (the memory section uses a narrow one on CPU).
    """
    kwargs = gan_module_kwargs()
    if base_channels is not None:
        kwargs["generator_kwargs"]["base_channels"] = base_channels
    torch.manual_seed(0)
    gan = ConditionalGAN(image_shape=shape, num_classes=NUM_CLASSES, trained_classes=list(range(NUM_CLASSES)), **kwargs)
    export_generator(gan, directory, [str(c) for c in range(NUM_CLASSES)])
    return GeneratorArtifact.load(directory)


def bench_generate(device: torch.device, n: int, batch: int, work: Path) -> list[list[str]]:
    """Row: samples, ganaug samples/s, reference samples/s, ratio (28x28 gray, written to disk)."""
    artifact = trained_artifact((1, 28, 28), work / "generator")
    artifact.net.to(device)
    counts = {c: n // NUM_CLASSES for c in range(NUM_CLASSES)}
    total = sum(counts.values())
    SyntheticBank.generate(artifact, {c: batch for c in range(2)}, work / "warm", batch_size=batch, progress=False)
    reference.sync(device)
    start = time.perf_counter()
    SyntheticBank.generate(artifact, counts, work / "bank", batch_size=batch, progress=False)
    ours = total / (time.perf_counter() - start)
    ref = reference.generate_to_disk(
        artifact.net, total, NUM_CLASSES, artifact.net.latent_dim, batch, device, work / "reference.npy"
    )
    return [[f"{total:,}", str(batch), f"{ours:,.0f}", f"{ref:,.0f}", f"{ours / ref:.2f}"]]


class PlainDataModule(pl.LightningDataModule):
    """A user's datamodule: a train loader over their dataset, as they set it up."""

    def __init__(self, dataset: ImageDataset, batch_size: int) -> None:
        super().__init__()
        self.dataset, self.batch_size = dataset, batch_size

    def train_dataloader(self) -> DataLoader:
        return DataLoader(self.dataset, batch_size=self.batch_size, shuffle=True)


def bench_mixing(
    device: torch.device, n_real: int, n_synthetic: int, batch: int, work: Path, repeats: int
) -> list[list[str]]:
    """Rows: dataset, samples, training-epoch seconds and the ratio of plain to it, then the same for an
    epoch of loading alone (no model), each the best of `repeats` rounds over the datasets in turn."""
    real = random_images(n_real, (1, 28, 28))
    synthetic = random_images(n_synthetic, (1, 28, 28), seed=1)
    bank = SyntheticBank.from_arrays(
        synthetic.images.numpy(), synthetic.labels.numpy(), real.class_names, work / "mix-bank"
    )
    plain = TensorDataset(torch.cat([real.images, synthetic.images]), torch.cat([real.labels, synthetic.labels]))
    loaders = {
        "plain TensorDataset": DataLoader(plain, batch_size=batch, shuffle=True),
        "MixedDataset": DataLoader(MixedDataset(real, bank, return_source=True), batch_size=batch, shuffle=True),
        "GANAugDataModule": GANAugDataModule(PlainDataModule(real, batch), bank).train_dataloader(),
    }
    models = {}
    for name, loader in loaders.items():
        torch.manual_seed(0)
        models[name] = SmallCNN(1, NUM_CLASSES)
        reference.train_epoch_seconds(models[name], loader, device)
    seconds = {name: float("inf") for name in loaders}
    loading = dict(seconds)
    for _ in range(repeats):  # interleaved, so a drift of the machine's speed hits every dataset alike
        for name, loader in loaders.items():
            seconds[name] = min(seconds[name], reference.train_epoch_seconds(models[name], loader, device))
            loading[name] = min(loading[name], reference.load_epoch_seconds(loader))
    base, base_load = seconds["plain TensorDataset"], loading["plain TensorDataset"]
    return [
        [
            name,
            f"{n_real + n_synthetic:,}",
            f"{s:.2f}",
            f"{base / s:.3f}",
            f"{loading[name]:.2f}",
            f"{base_load / loading[name]:.2f}",
        ]
        for name, s in seconds.items()
    ]


def bench_memory(device: torch.device, n: int, width: int, work: Path) -> list[list[str]]:
    """Rows from bank_memory.py run in a fresh process (its memory is then the bank's alone)."""
    script = Path(__file__).resolve().parent / "bank_memory.py"
    out = subprocess.run(
        [
            sys.executable,
            str(script),
            "--size",
            str(n),
            "--device",
            str(device),
            "--dir",
            str(work / "big"),
            "--width",
            str(width),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [line.split("\t") for line in out.strip().splitlines()]


def bench_quality(device: torch.device, n: int, work: Path) -> list[list[str]]:
    """Rows: where, samples per side, seconds, CPU seconds / these (quality metrics of a 28x28 bank)."""
    from ganaug.quality.features import train_feature_extractor
    from ganaug.quality.report import quality_report

    real = random_images(n, (1, 28, 28))
    heldout = random_images(n, (1, 28, 28), seed=2)
    fake = random_images(n, (1, 28, 28), seed=1)
    bank = SyntheticBank.from_arrays(fake.images.numpy(), fake.labels.numpy(), real.class_names, work / "q-bank")
    extractor = train_feature_extractor(real, epochs=1, trainer_kwargs=trainer_kwargs(torch.device("cpu"), []))
    seconds = {}
    for where in dict.fromkeys([torch.device("cpu"), device]):
        extractor.to(where)
        quality_report(bank, extractor, real, heldout, cas=False, max_per_class=None)  # warm-up
        reference.sync(where)
        start = time.perf_counter()
        quality_report(bank, extractor, real, heldout, cas=False, max_per_class=None)
        reference.sync(where)
        seconds[where] = time.perf_counter() - start
    cpu = seconds[torch.device("cpu")]
    return [[str(where), f"{n:,}", f"{s:.2f}", f"{cpu / s:.2f}"] for where, s in seconds.items()]


def bench_auto(device: torch.device, workers: int, epochs: int, work: Path) -> list[list[str]]:
    """Rows: workers, threads per fit, trainings, decision seconds, one-at-a-time seconds / these, the choice, and
    whether every score equals the one-at-a-time run's (exact only at the same threads per fit)."""
    from ganaug.auto.parallel import threads_per_worker
    from ganaug.auto.search import AutoSettings, GatedBanks, auto_search
    from ganaug.data.dataset import DatasetSplits

    splits = DatasetSplits(random_images(2000, (1, 16, 16)), random_images(300, (1, 16, 16), seed=2),
                           random_images(300, (1, 16, 16), seed=3))  # fmt: skip
    fake = random_images(500, (1, 16, 16), seed=1)
    bank = SyntheticBank.from_arrays(fake.images.numpy(), fake.labels.numpy(), fake.class_names, work / "a-bank")
    targets = {c: 50 for c in range(NUM_CLASSES)}
    kwargs = {"batch_size": 64, "model_kwargs": {"width": 8},
              "trainer_kwargs": {**trainer_kwargs(device, []), "num_sanity_val_steps": 0}}  # fmt: skip
    results = {}
    threads = torch.get_num_threads()
    for count in dict.fromkeys([1, workers]):
        settings = AutoSettings(workers=count, seed=0)
        start = time.perf_counter()
        result = auto_search(splits, {None: GatedBanks(bank)}, targets, settings=settings, epochs=epochs, **kwargs)
        results[count] = (time.perf_counter() - start, result)
    alone, first = results[1]
    return [
        [str(count), str(threads_per_worker(count, threads)), str(result.trainings), f"{seconds:.1f}",
         f"{alone / seconds:.2f}", result.decision.chosen,
         "yes" if [r.to_json() for r in result.rungs] == [r.to_json() for r in first.rungs] else "no"]
        for count, (seconds, result) in results.items()
    ]  # fmt: skip


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """A Markdown table under a title."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sections and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"any of {','.join(SECTIONS)}")
    parser.add_argument("--batches", default="64,256,1024", help="GAN batch sizes")
    parser.add_argument("--steps", type=int, default=20, help="timed GAN steps per setting")
    parser.add_argument("--warmup", type=int, default=5, help="untimed GAN steps first")
    parser.add_argument("--compile", default=None, help="a torch.compile mode for a second GAN row")
    parser.add_argument("--autocast", default=None, help="bf16: autocast in a second GAN row")
    parser.add_argument("--channels-last", action="store_true", help="NHWC memory in a second GAN row")
    parser.add_argument("--quality-samples", type=int, default=5000, help="samples per side in the quality section")
    parser.add_argument("--workers", type=int, default=2, help="auto section: candidates trained at once")
    parser.add_argument("--auto-epochs", type=int, default=8, help="auto section: the final training's epochs")
    parser.add_argument("--generate", type=int, default=50_000, help="samples generated into a bank")
    parser.add_argument("--mix-real", type=int, default=10_000, help="real samples in the mixing epoch")
    parser.add_argument("--mix-synthetic", type=int, default=10_000, help="synthetic samples in the mixing epoch")
    parser.add_argument("--repeats", type=int, default=5, help="mixing epochs timed per dataset (best kept)")
    parser.add_argument("--bank-size", type=int, default=1_000_000, help="samples in the memory section's bank")
    parser.add_argument(
        "--bank-width",
        type=int,
        default=None,
        help="memory section's generator width (default: the config's on GPU, 8 on CPU)",
    )
    args = parser.parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {unknown}; choose from {', '.join(SECTIONS)}")
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda but no GPU is visible; run with --device cpu")
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    print(f"ganaug throughput benchmark on {name}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory(prefix="ganaug-bench-") as tmp:
        work = Path(tmp)
        if "gan" in sections:
            batches = [int(b) for b in args.batches.split(",")]
            tuned = {k: v for k, v in (("compile", args.compile), ("autocast", args.autocast)) if v}
            if args.channels_last:
                tuned["channels_last"] = True
            rows = bench_gan(device, batches, args.steps, args.warmup, tuned)
            print_table(
                "GAN training (images/s, one D + one G update)",
                ["image", "batch", "settings", "ganaug", "reference", "ratio", "max weight gap"],
                rows,
            )
        if "generate" in sections:
            rows = bench_generate(device, args.generate, 1024, work)
            print_table(
                "Generation into a bank on disk (samples/s, 28x28 gray)",
                ["samples", "batch", "ganaug", "reference", "ratio"],
                rows,
            )
        if "mixing" in sections:
            rows = bench_mixing(device, args.mix_real, args.mix_synthetic, 128, work, args.repeats)
            print_table(
                "Classifier epoch (seconds, batch 128, 28x28 gray)",
                ["training set", "samples", "epoch s", "plain / this", "loading only s", "plain / this"],
                rows,
            )
        if "memory" in sections:
            width = args.bank_width or (
                gan_module_kwargs()["generator_kwargs"]["base_channels"] if device.type == "cuda" else 8
            )
            rows = bench_memory(device, args.bank_size, width, work)
            print_table(f"A bank of {args.bank_size:,} 28x28 samples", ["measure", "value"], rows)
        if "quality" in sections:
            rows = bench_quality(device, args.quality_samples, work)
            print_table("Quality metrics of a bank (seconds, no CAS)", ["device", "samples", "s", "CPU / this"], rows)
        if "auto" in sections:
            rows = bench_auto(device, args.workers, args.auto_epochs, work)
            header = ["workers", "threads per fit", "trainings", "s", "one at a time / this", "chosen", "same scores"]
            print_table("auto's decision (seconds)", header, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
