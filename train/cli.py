"""Training commands (train, evaluate, quantize), plugged into the ``genrecast`` CLI.

TensorFlow is imported only inside the command bodies, so ``genrecast --help`` stays light.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from genrecast.daemon.errors import ModelError, UserError

MODEL_RATE_HZ = 400
WINDOW_SECONDS = 3
HOP_SECONDS = 1  # between training windows cut from audio files
WINDOW_SAMPLES = WINDOW_SECONDS * MODEL_RATE_HZ


ALL_MODES = "float32,float16,dynamic,int8"
DataArg = Annotated[str, typer.Argument(
    help="An .npz (arrays train/test), a folder of genre subfolders of audio files, or "
    "synthetic[:N].")]
TestFractionOpt = Annotated[float, typer.Option(
    "--test-fraction", min=0.05, max=0.6, help="Share of each genre's tracks held out.")]
CacheDirOpt = Annotated[Path | None, typer.Option(
    "--cache-dir", help="Decoded-audio cache (default $XDG_CACHE_HOME/genrecast).")]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Decode again, cache nothing.")]
GroupByOpt = Annotated[str | None, typer.Option(
    "--group-by", help="Genre folder: keep each group on one side of the split and report the "
    "grouped figure: 'folder' (GENRE/<group>/...), 'artist' (album artist / artist tag) or "
    "'package' (<package>__track file names).")]


def _labels(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [x.strip() for x in value.split(",") if x.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise UserError(f"--labels '{value}' must name two or more distinct classes, comma-separated")
    return names


def _quiet_tensorflow() -> None:
    from .progress import quiet_tensorflow

    quiet_tensorflow()


def _load(data: str, labels: str | None, hop: int, seed: int, test_fraction: float,
          cache_dir: Path | None, no_cache: bool, rate: int = MODEL_RATE_HZ,
          window: int = WINDOW_SAMPLES, test_only: bool = False,
          all_tracks: bool = False, group_by: str | None = None):  # type: ignore[no-untyped-def]
    from .cache import AudioCache
    from .datasets import load_dataset

    cache = None if no_cache else AudioCache(cache_dir)
    return load_dataset(data, labels=_labels(labels), rate=rate, window=window, hop=hop,
                        seed=seed, test_fraction=test_fraction, cache=cache, test_only=test_only,
                        all_tracks=all_tracks, group_by=group_by)


def register(app: typer.Typer) -> None:
    """Add the training commands to ``app``; their bodies import TensorFlow only when run."""

    @app.command()
    def train(
        data: DataArg,
        out: Annotated[Path, typer.Option(
            "--out", help="Output stem: writes STEM.tflite, STEM.json (model card), STEM.keras "
            "and PNG plots.")],
        arch: Annotated[str, typer.Option(
            help="conv2d (default: in-graph spectrogram + the seeds' Conv2D stack), specnet (the "
            "same spectrogram + a small Conv2D stack: a fifth of the cost, for many streams), "
            "gcnet-dual (waveform + spectrogram views), gcnet (waveform only), conv1d (the "
            "seed's) or mlp.")] = "conv2d",
        recipe: Annotated[str, typer.Option(
            help="default (ours) or seed (the seed's recipe: conv1d, MSE on sigmoid, batch 16, "
            "10 epochs, no normalisation).")] = "default",
        labels: Annotated[str | None, typer.Option(
            help="Class names, comma-separated (npz: classical,rock by default; folder: "
            "subfolder order).")] = None,
        epochs: Annotated[int, typer.Option(
            min=1, help="Maximum epochs (early stopping on validation loss).")] = 40,
        batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 64,
        learning_rate: Annotated[float, typer.Option("--learning-rate")] = 1e-3,
        patience: Annotated[int, typer.Option(
            min=0, help="Epochs without validation improvement before stopping "
            "(0: never stop early).")] = 8,
        seed: Annotated[int, typer.Option(
            help="Seed for the split, augmentation and weights.")] = 0,
        rate: Annotated[int, typer.Option(
            "--rate", min=400, help="Model sample rate in Hz, a multiple of 400 (the default); "
            "recorded in the card, and the daemon resamples every source to it. Windows are "
            f"{WINDOW_SECONDS} s at this rate.")] = MODEL_RATE_HZ,
        hop: Annotated[int | None, typer.Option(
            min=1, help="Samples between windows cut from audio files (default: 1 s at "
            "--rate).")] = None,
        test_fraction: TestFractionOpt = 0.25,
        augment: Annotated[bool, typer.Option(
            "--augment/--no-augment",
            help="Gain, noise, reverb, speaker and mixing augmentation.")] = True,
        max_windows: Annotated[int | None, typer.Option(
            "--max-windows", min=10, help="Subsample training windows (quick runs).")] = None,
        quantizations: Annotated[str, typer.Option(
            "--quantizations", help="Quantizations to build and evaluate.")] = ALL_MODES,
        mixed_precision: Annotated[bool, typer.Option(
            "--mixed-precision", help="float16 compute (useful on a GPU).")] = False,
        no_robustness: Annotated[bool, typer.Option(
            "--no-robustness", help="Skip the gain/noise/reverb evaluation.")] = False,
        group_by: GroupByOpt = None,
        cache_dir: CacheDirOpt = None,
        no_cache: NoCacheOpt = False,
    ) -> None:
        """Train a genre model on DATA and write STEM.tflite + STEM.json (+ plots)."""
        _quiet_tensorflow()
        from .architectures import ARCHITECTURES
        from .fit import FitConfig
        from .pipeline import summary_line, train_and_export
        from .quantize import MODES

        if arch not in ARCHITECTURES:
            raise UserError(f"unknown --arch '{arch}'; choose one of {', '.join(ARCHITECTURES)}")
        if recipe not in ("default", "seed"):
            raise UserError(f"unknown --recipe '{recipe}'; choose default or seed")
        modes = tuple(m.strip() for m in quantizations.split(",") if m.strip())
        bad = [m for m in modes if m not in MODES]
        if bad or "float32" not in modes:
            raise UserError(f"--quantizations must include float32 and only {', '.join(MODES)}")
        if rate % MODEL_RATE_HZ:
            raise UserError(f"--rate {rate}: pick a multiple of {MODEL_RATE_HZ} Hz "
                            "(400, 2000, 8000, ...)")
        dataset = _load(data, labels, HOP_SECONDS * rate if hop is None else hop, seed,
                        test_fraction, cache_dir, no_cache, rate=rate,
                        window=WINDOW_SECONDS * rate, group_by=group_by)
        cfg = FitConfig(arch=arch, recipe=recipe, epochs=epochs, batch_size=batch_size,
                        learning_rate=learning_rate, patience=patience, seed=seed,
                        augment=augment, max_train_windows=max_windows,
                        mixed_precision=mixed_precision)
        command = "genrecast train " + shlex.join(sys.argv[2:] if len(sys.argv) > 2 else [])
        card = train_and_export(dataset, cfg, out, rate, modes, command,
                                robustness_checks=not no_robustness)
        typer.echo(f"wrote {out.with_suffix('.tflite')} and {out.with_suffix('.json')}")
        typer.echo(summary_line(card))

    @app.command()
    def evaluate(
        model: Annotated[Path, typer.Argument(help="A .tflite with its card beside it.")],
        data: Annotated[str, typer.Argument(
            help="The data: .npz (uses 'test'), genre folder (held-out tracks of the split) "
            "or synthetic[:N].")],
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
        seed: Annotated[int | None, typer.Option(
            help="Seed of the split (default: the model card's, so the held-out tracks are "
            "training's).")] = None,
        hop: Annotated[int | None, typer.Option(
            min=1, help="Samples between windows (default: the model card's).")] = None,
        test_fraction: Annotated[float | None, typer.Option(
            "--test-fraction", min=0.05, max=0.6,
            help="Share of tracks held out (default: the model card's).")] = None,
        gains: Annotated[bool, typer.Option(
            "--gains", help="Also evaluate at -30..+6 dB and under noise, reverb and a small "
            "speaker.")] = False,
        all_tracks: Annotated[bool, typer.Option(
            "--all", help="Genre folder: every track is test data (a collection the model never "
            "saw), not only the held-out tracks of training's split.")] = False,
        group_by: GroupByOpt = None,
        cache_dir: CacheDirOpt = None,
        no_cache: NoCacheOpt = False,
    ) -> None:
        """Accuracy, per-class precision and recall, confusion matrix (and per track)."""
        _quiet_tensorflow()
        from genrecast.daemon.model.card import load_card

        from . import evaluate as ev

        card = load_card(model)
        # By default the split is training's (seed, hop, held-out share from the card), so a
        # folder is evaluated on the tracks the model never saw.
        trained = card.extra.get("dataset", {}).get("split", {})
        split_seed = int(card.extra.get("training", {}).get("seed", 0)) if seed is None else seed
        if hop is None:
            hop = int(trained.get("hop_samples", HOP_SECONDS * card.sample_rate_hz))
        if test_fraction is None:
            test_fraction = float(trained.get("test_fraction", 0.25))
        if group_by is None and not all_tracks:
            group_by = trained.get("group_by")  # training's grouped split, held out again
        dataset = _load(data, ",".join(card.labels) if not data.startswith("synthetic")
                        else None, hop, split_seed, test_fraction, cache_dir, no_cache,
                        rate=card.sample_rate_hz, window=card.window_samples, test_only=True,
                        all_tracks=all_tracks, group_by=group_by)
        if list(dataset.labels) != list(card.labels):
            raise ModelError(f"{model} predicts {', '.join(card.labels)} but {data} holds "
                             f"{', '.join(dataset.labels)}; evaluate on data with the same classes")
        clf = ev.load_classifier(model, card)
        t = dataset.test
        result = ev.evaluate(clf, t.x, t.y, dataset.labels, t.track, dataset.tracks,
                             dataset.groups)
        result["model"] = str(model)
        result["data"] = data
        if gains:
            result["robustness"] = ev.robustness(clf, t.x, t.y, dataset.labels, t.track,
                                                 dataset.tracks, card.sample_rate_hz)
        if as_json:
            typer.echo(json.dumps(result))
            return
        _print_report(result)

    @app.command()
    def quantize(
        keras_model: Annotated[Path, typer.Argument(
            help="STEM.keras written by genrecast train (its STEM.json beside it).")],
        data: DataArg,
        out: Annotated[Path, typer.Option("--out", help="Output stem.")],
        mode: Annotated[str, typer.Option(help="float32, float16, dynamic or int8.")] = "int8",
        seed: Annotated[int, typer.Option(help="Seed of the split, as in training.")] = 0,
        hop: Annotated[int | None, typer.Option(
            min=1, help="Samples between windows (default: 1 s at the card's rate).")] = None,
        cache_dir: CacheDirOpt = None,
        no_cache: NoCacheOpt = False,
    ) -> None:
        """Convert a trained Keras model to one TFLite quantization and evaluate it."""
        _quiet_tensorflow()
        from .quantize_cmd import run_quantize

        run_quantize(keras_model, data, out, mode, seed,
                     lambda labels, rate, window: _load(
                         data, ",".join(labels) if labels else None,
                         HOP_SECONDS * rate if hop is None else hop, seed, 0.25, cache_dir,
                         no_cache, rate=rate, window=window))


def _print_report(result: dict) -> None:  # type: ignore[type-arg]
    typer.echo(f"{result['model']} on {result['data']}: accuracy {100 * result['accuracy']:.2f}% "
               f"over {result['n']} windows")
    for name, pc in result["per_class"].items():
        extra = (f", tracks right {100 * pc['track_accuracy']:.0f}% of {pc['tracks']}"
                 if "track_accuracy" in pc else "")
        typer.echo(f"  {name:>12}: precision {100 * pc['precision']:.1f}%  "
                   f"recall {100 * pc['recall']:.1f}%  ({pc['support']} windows{extra})")
    typer.echo("confusion (rows true, columns predicted): " + json.dumps(result["confusion"]))
    grouped = result.get("grouped")
    if grouped:
        typer.echo(f"grouped ({grouped['n_groups']} groups): macro recall "
                   f"{100 * grouped['macro']:.1f}% (per genre: " + ", ".join(
                       f"{g} {100 * v:.0f}%" for g, v in grouped["genres"].items()) +
                   f"), beside {100 * result['accuracy']:.1f}% of the windows pooled")
    if "tracks" in result:
        typer.echo(f"per track (majority): {100 * result['track_accuracy']:.1f}% right")
        for name, t in result["tracks"].items():
            mark = "ok " if t["correct"] else "BAD"
            typer.echo(f"  {mark} {name}: {100 * t['window_accuracy']:.0f}% of {t['windows']} "
                       f"windows → {t['majority']}")
    rob = result.get("robustness")
    if rob:
        for g, v in rob["gain_db"].items():
            typer.echo(f"  gain {g:>4} dB: {100 * v['accuracy']:.2f}%")
        typer.echo(f"  gain-robust accuracy: {100 * rob['gain_robust_accuracy']:.2f}%")
        for k, v in rob.get("degradations", {}).items():
            typer.echo(f"  {k}: {100 * v['accuracy']:.2f}%")
