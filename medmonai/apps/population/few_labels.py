"""Few labels: what self-supervised pretraining buys when only 1%, 10% or 100% of a label is known.

For each label fraction the same training subjects are drawn (seeded, by subject, with the draws of
:mod:`~medmonai.apps.population.probes`) and three learners see only them:

- ``probe``: the linear probe on the frozen self-supervised embeddings (``model.embed``);
- ``finetune``: the pretrained encoder plus a linear head, all trained on the labelled images;
- ``scratch``: the same encoder architecture from random initialisation plus a linear head, trained alike.

Each is scored by R^2 on the held-out test subjects; every fraction is drawn ``repeats`` times and averaged. The
networks train for a fixed number of steps per fraction, so the comparison is at equal compute.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from monai.engines import SupervisedTrainer
from sklearn.metrics import r2_score
from torch import nn

from medmonai.apps.population.embed import embed_rows
from medmonai.apps.population.embeddings import read_embeddings
from medmonai.apps.population.probes import label_draw, probe_scores
from medmonai.errors import DataError
from medmonai.keys import Keys
from medmonai.utils.outputs import json_bytes, read_json, write_outputs

__all__ = ["few_label_curves", "few_label_study", "finetune_regressor", "reinitialised"]

logger = logging.getLogger(__name__)
ImageSource = Callable[[np.ndarray], np.ndarray]  # cache rows -> (n, C, *spatial) float array


class _Regressor(nn.Module):
    """An encoder with a linear head predicting one standardised value per image."""

    def __init__(self, encoder: nn.Module, embedding_dim: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(embedding_dim, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(images)).squeeze(-1)


class _LabelledBatches:
    """Endless ``{image, label}`` batches of labelled rows, drawn with replacement from a seeded generator.

    Each pass starts the generator afresh, so a trainer run draws the same batches every time.
    """

    def __init__(self, images: ImageSource, labels: torch.Tensor, rows: np.ndarray, batch_size: int, seed: int) -> None:
        self.images, self.labels, self.rows = images, labels, rows
        self.batch_size, self.seed = min(batch_size, len(rows)), seed

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        generator = torch.Generator().manual_seed(self.seed)
        while True:
            pick = self.rows[torch.randint(len(self.rows), (self.batch_size,), generator=generator).numpy()]
            yield {Keys.IMAGE: torch.as_tensor(self.images(pick), dtype=torch.float32), Keys.LABEL: self.labels[pick]}


def finetune_regressor(
    encoder: nn.Module,
    embedding_dim: int,
    images: ImageSource,
    targets: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    steps: int,
    batch_size: int,
    learning_rate: float,
    device: torch.device,
    seed: int,
) -> float:
    """Train ``encoder`` + a linear head on ``train`` rows for ``steps`` steps; R^2 on ``test``.

    Targets are standardised on the labelled rows; batches are drawn with replacement, so 3 labels and 300 train
    alike for the same number of steps. MONAI's ``SupervisedTrainer`` runs the steps (one epoch of ``steps``
    iterations, mean squared error, Adam).
    """
    model = _Regressor(encoder, embedding_dim).to(device)
    mean, std = float(targets[train].mean()), float(targets[train].std() or 1.0)
    scaled = torch.as_tensor((targets - mean) / std, dtype=torch.float32)
    trainer = SupervisedTrainer(
        device=device,
        max_epochs=1,
        epoch_length=steps,
        train_data_loader=_LabelledBatches(images, scaled, train, batch_size, seed),
        network=model,
        optimizer=torch.optim.Adam(model.parameters(), lr=learning_rate),
        loss_function=nn.MSELoss(),
        optim_set_to_none=True,
        decollate=False,  # nothing reads per-item outputs
    )
    trainer.run()
    predicted = embed_rows(model, images, test, batch_size, device, method=None) * std + mean
    return float(r2_score(targets[test], predicted))


def few_label_curves(
    embeddings: np.ndarray,
    pretrained_encoder: nn.Module,
    make_encoder: Callable[[], nn.Module],
    embedding_dim: int,
    images: ImageSource,
    targets: np.ndarray,
    train: np.ndarray,
    test: np.ndarray,
    fractions: Sequence[float] = (0.01, 0.1, 1.0),
    steps: int = 60,
    batch_size: int = 16,
    learning_rate: float = 1e-3,
    repeats: int = 3,
    device: torch.device | str = "cpu",
    seed: int = 0,
    finetune: bool = True,
) -> dict[str, float]:
    """Probe, fine-tune and from-scratch R^2 of ``targets`` at each label fraction (see the module docstring).

    Args:
        embeddings: ``(n, D)`` frozen self-supervised embeddings, rows as ``targets``.
        pretrained_encoder: the self-supervised encoder (copied before fine-tuning; never changed).
        make_encoder: a fresh, randomly initialised encoder of the same architecture.
        embedding_dim: the encoders' output size.
        images: ``rows -> (n, C, *spatial)`` images.
        targets: ``(n,)`` the label (e.g. age); NaN rows are never used.
        train: rows whose labels may be used.
        test: rows scored.
        fractions: label fractions. Defaults to (0.01, 0.1, 1.0).
        steps: optimiser steps per network and fraction. Defaults to 60.
        batch_size: images per step. Defaults to 16.
        learning_rate: Adam's. Defaults to 1e-3.
        repeats: draws per fraction (the full set is drawn once). Defaults to 3.
        device: where networks train. Defaults to "cpu".
        seed: label draws and initialisations. Defaults to 0.
        finetune: also fine-tune and train from scratch (False: the probe alone). Defaults to True.

    Returns:
        ``few_label_<learner>_<percent>pct`` (mean R^2 over the draws; learner ``probe``, ``finetune``,
        ``scratch``) and ``few_label_gain_<percent>pct`` (probe minus scratch).
    """
    device = torch.device(device)
    targets = np.asarray(targets, dtype=np.float64)
    train, test = np.asarray(train), np.asarray(test)
    train, test = train[np.isfinite(targets[train])], test[np.isfinite(targets[test])]
    result: dict[str, float] = {}
    for fraction in fractions:
        percent = f"{fraction * 100:g}"
        scores: dict[str, list[float]] = {"probe": [], "finetune": [], "scratch": []}
        for repeat in range(1 if fraction >= 1 else repeats):
            draw_seed = seed + 1000 * repeat + int(fraction * 1e4)
            rows = label_draw(train, fraction, np.random.default_rng([seed, repeat, int(round(fraction * 1e6))]))
            probe = probe_scores(embeddings, targets, rows, test, categorical=False, fractions=(1.0,))
            scores["probe"].append(probe[0]["r2"])
            if not finetune:
                continue
            common = (images, targets, rows, test, steps, batch_size, learning_rate, device, draw_seed)
            tuned = copy.deepcopy(pretrained_encoder)
            scores["finetune"].append(finetune_regressor(tuned, embedding_dim, *common))
            torch.manual_seed(draw_seed)
            scores["scratch"].append(finetune_regressor(make_encoder(), embedding_dim, *common))
        for learner, values in scores.items():
            if values:
                result[f"few_label_{learner}_{percent}pct"] = float(np.mean(values))
        if scores["scratch"]:
            result[f"few_label_gain_{percent}pct"] = float(np.mean(scores["probe"]) - np.mean(scores["scratch"]))
        logger.info(f"few labels {percent}%: " + ", ".join(f"{k} {np.mean(v):.3f}" for k, v in scores.items() if v))
    return result


def reinitialised(module: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``module`` with every layer's parameters drawn afresh (PyTorch's default initialisation)."""
    fresh = copy.deepcopy(module)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for layer in fresh.modules():
            if callable(getattr(layer, "reset_parameters", None)):
                layer.reset_parameters()
    return fresh


def _aligned(path: str | Path, subject_ids: np.ndarray) -> np.ndarray:
    ids, matrix = read_embeddings(path)
    if not np.array_equal(ids, subject_ids):
        raise DataError(f"{path}: embeddings are not those of this cohort's cached subjects, in order; train again")
    return matrix


def few_label_study(
    population: Any,
    model: nn.Module,
    embeddings_path: str | Path,
    output_dir: str | Path,
    baseline_embeddings_path: str | Path | None = None,
    target: str = "age",
    finetune: bool = True,
    **options: Any,
) -> dict[str, float]:
    """Few-label curves of a trained self-supervised model, merged into ``output_dir/metrics.json``.

    Adds ``probe_r2_<target>_random_init`` (the probe on the untrained model's embeddings) when
    ``baseline_embeddings_path`` exists, and writes ``few_labels.json`` with every figure.

    Args:
        population: a :class:`~medmonai.apps.population.data.PopulationData` (images, splits, manifest).
        model: the trained model (``encoder``, ``embed``).
        embeddings_path: its embeddings, in the cache's subject order.
        output_dir: where ``metrics.json`` is merged into.
        baseline_embeddings_path: the untrained model's embeddings. Defaults to None.
        target: the manifest's label column. Defaults to "age".
        finetune: fine-tune and train from scratch as well as probe. Defaults to True.
        **options: passed to :func:`few_label_curves` (fractions, steps, batch_size, ...).
    """
    subject_ids = population.subject_ids
    embeddings = _aligned(embeddings_path, subject_ids)
    targets = population.manifest.covariate(target)
    train, test = population.split_rows("train"), population.split_rows("test")
    encoder = model.encoder
    dim = int(getattr(encoder, "embedding_dim", embeddings.shape[1]))
    seed = int(options.get("seed", 0))
    result = few_label_curves(
        embeddings,
        encoder,
        lambda: reinitialised(encoder, seed + 1),
        dim,
        population.images,
        targets,
        train,
        test,
        finetune=finetune,
        **options,
    )
    prefix = "few_label_" if target == "age" else f"few_label_{target}_"  # age keeps the plain names
    metrics = {prefix + key.removeprefix("few_label_"): value for key, value in result.items()}
    if baseline_embeddings_path and Path(baseline_embeddings_path).is_file():
        baseline = _aligned(baseline_embeddings_path, subject_ids)
        rows = probe_scores(baseline, targets, train, test, categorical=False, fractions=(1.0,))
        metrics[f"probe_r2_{target}_random_init"] = rows[0]["r2"]
    merged = {**(read_json(Path(output_dir) / "metrics.json") or {}), **metrics}
    write_outputs(output_dir, {"metrics.json": json_bytes(merged), "few_labels.json": json_bytes(metrics)})
    return metrics
