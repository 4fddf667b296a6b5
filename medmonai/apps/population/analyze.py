"""The population analysis of one embeddings file: maps, subgroups, normative model, associations and probes.

:func:`analyze` reads per-subject embeddings (:mod:`~medmonai.apps.population.embeddings`) and the cohort manifest's
covariates, runs each section whose inputs are there, and writes into ``output_dir``:

- ``metrics.json``: a flat mapping, merged into the one already there (the training metrics stay);
- ``umap.png``, ``tsne.png``: the embedding's 2-D maps, one panel per covariate;
- ``clusters.csv`` (cluster of every subject, both methods), ``cluster_covariates.csv`` (clusters against the
  covariates), ``cluster_selection.png`` (BIC and silhouette against k);
- ``normative.csv`` (each subject's deviation and percentile), ``normative.png``: when a healthy reference exists;
- ``associations.csv`` (one row per variant), ``manhattan.png``, ``qq.png``: when a genotype table is given;
  ``covariate_associations.csv`` (every embedding dimension against every covariate term) always;
- ``probes.csv`` (every probe run);
- ``report.html``: the metrics and every figure on one self-contained page.

Every file is staged and moved into place together at the end, so a failure leaves the previous results untouched.
The metrics it can add: ``cluster_ari_subgroup`` (and per method), ``cluster_k_*``, ``normative_auroc_subgroup``,
``normative_above95_subgroup``, ``assoc_power``, ``assoc_fdp``, ``assoc_n_found``, ``assoc_lambda_gc``,
``assoc_dims_<term>`` (embedding dimensions associated with a covariate term at FDR 5%),
``probe_r2_age``, ``probe_acc_sex``, ``probe_auroc_sex``, ... and ``probe_<score>_<target>_<percent>pct``.

In a bundle config, call it as ``_target_: medmonai.apps.population.analyze.analyze`` (the module shares the
function's name, so the package-level name resolves to the module for ``_target_``) or as
``$medmonai.apps.population.analyze(...)`` in an expression.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from medmonai.apps.population.association import (
    association_features,
    covariate_association_table,
    discovery_metrics,
    fdr,
    fdr_threshold,
    genomic_inflation,
    manhattan_figure,
    qq_figure,
    simes,
    variant_tests,
)
from medmonai.apps.population.covariates import CovariateDesign
from medmonai.apps.population.normative import normative_deviation, normative_figure, normative_metrics
from medmonai.apps.population.probes import FRACTIONS, probe_metrics, probe_scores, probe_table
from medmonai.apps.population.report import AnalysisOutputs
from medmonai.apps.population.study import SHOWN_IDS, Study, causal_variants, load_study
from medmonai.apps.population.subgroups import (
    adjusted_features,
    cluster_covariate_table,
    find_subgroups,
    selection_figure,
    subgroup_metrics,
)
from medmonai.apps.population.visualise import MAP_METHODS, covariate_maps_figure, embedding_map
from medmonai.data.readers.cohort import CohortManifest
from medmonai.data.readers.genotypes import read_genotypes
from medmonai.data.splits import subject_split
from medmonai.errors import ConfigError, DataError

__all__ = ["AnalysisSettings", "analyze"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalysisSettings:
    """The knobs of :func:`analyze` (see its arguments for each one's meaning and default)."""

    subgroup_column: str | None = "subgroup"
    healthy: tuple[str, float] | None = ("subgroup", 0)
    seed: int = 0
    map_methods: tuple[str, ...] = MAP_METHODS
    umap_epochs: int | None = None
    k_values: tuple[int, ...] = tuple(range(1, 9))
    cluster_components: int = 5
    cluster_method: str = "gmm_bic"
    normative_folds: int = 5
    normative_spline: Mapping[str, int] | None = None
    covariance: str = "ledoit_wolf"
    assoc_features: str = "pcs"
    assoc_components: int = 20
    fdr_alpha: float = 0.05
    probe_targets: tuple[str, ...] | None = None
    fractions: tuple[float, ...] = FRACTIONS
    repeats: int = 5
    split_fractions: Mapping[str, float] | None = None


def _design(study: Study) -> np.ndarray:
    names = list(study.covariates)
    return CovariateDesign(names, study.categorical).fit(study.covariates).transform(study.covariates)


def _maps(study: Study, out: AnalysisOutputs, settings: AnalysisSettings) -> None:
    shown = {**study.covariates, **study.extra}
    for method in settings.map_methods:
        points = embedding_map(study.matrix, method, settings.seed, settings.umap_epochs)
        title = f"{'UMAP' if method == 'umap' else 't-SNE'} of {study.source.name} ({len(points)} subjects)"
        out.figure(f"{method}.png", covariate_maps_figure(points, shown, study.categorical, title))


def _subgroups(study: Study, out: AnalysisOutputs, settings: AnalysisSettings, reference: np.ndarray | None) -> None:
    names = list(study.covariates)
    features = adjusted_features(
        study.matrix, study.covariates, names, study.categorical, reference, settings.cluster_components, settings.seed
    )
    result = find_subgroups(features, settings.k_values, settings.seed)
    truth = study.values(settings.subgroup_column) if settings.subgroup_column else None
    out.metrics.update(subgroup_metrics(result, truth, settings.subgroup_column or "", settings.cluster_method))
    labels = {f"cluster_{method}": values for method, values in result.labels.items()}
    out.table("clusters.csv", pd.DataFrame({"subject_id": study.subject_ids, **labels}))
    shown = {**study.covariates, **study.extra}
    table = cluster_covariate_table(result.labels[settings.cluster_method], shown, study.categorical)
    out.table("cluster_covariates.csv", table, index=True)
    out.figure("cluster_selection.png", selection_figure(result))


def _normative(study: Study, out: AnalysisOutputs, settings: AnalysisSettings, reference: np.ndarray) -> None:
    result = normative_deviation(
        study.matrix,
        study.covariates,
        reference,
        settings.normative_folds,
        settings.seed,
        names=list(study.covariates),
        categorical=study.categorical,
        spline=settings.normative_spline,
        covariance=settings.covariance,
    )
    name = settings.subgroup_column
    groups = study.values(name) if name else None
    if groups is not None and settings.healthy[0] == name:  # the groups say who is healthy: score the others
        out.metrics.update(normative_metrics(result, groups, settings.healthy[1], name))
    columns = {"distance": result.distance, "percentile": result.percentile, "reference": result.reference}
    out.table("normative.csv", pd.DataFrame({"subject_id": study.subject_ids, **columns, "fold": result.fold}))
    out.figure("normative.png", normative_figure(result, groups, name or "group"))


def _variants(study, out, settings, features, feature_names, genotypes: Path, causal: list[str] | None) -> None:
    variants, dosages = read_genotypes(genotypes, study.manifest_ids)  # the table must match the whole cohort
    if causal is not None and set(causal) - set(variants):
        unknown = sorted(set(causal) - set(variants))[:SHOWN_IDS]
        raise DataError(f"{genotypes}: the truth's causal variants {unknown} are not columns of the genotype table")
    tests = variant_tests(features, dosages[study.rows], _design(study))
    # one p-value per variant (Simes over its features), then BH over variants: the FDR among variants found
    variant_p = simes(tests.p)
    variant_q, found = fdr(variant_p, settings.fdr_alpha)
    is_causal = None if causal is None else np.isin(variants, causal)
    if causal is not None:
        out.metrics.update(discovery_metrics(found, variants, causal))
    out.metrics.update({"assoc_n_found": int(found.sum()), "assoc_lambda_gc": genomic_inflation(tests.p)})
    p = np.where(np.isfinite(tests.p), tests.p, np.inf)
    best = np.argmin(p, axis=1)
    at_best = {k: getattr(tests, k)[np.arange(len(variants)), best] for k in ("beta", "se", "t", "p")}
    summary = pd.DataFrame({"variant": variants, "best_feature": np.asarray(feature_names)[best], **at_best})
    summary["p_variant"], summary["q_variant"], summary["found"] = variant_p, variant_q, found
    if is_causal is not None:
        summary["causal"] = is_causal
    out.table("associations.csv", summary)
    threshold = fdr_threshold(variant_p, found, settings.fdr_alpha)
    title = f"{len(variants)} variants (Simes over {len(feature_names)} features, {settings.assoc_features})"
    out.figure("manhattan.png", manhattan_figure(variant_p, threshold, is_causal, title))
    out.figure("qq.png", qq_figure(tests.p))
    logger.info(f"association: {int(found.sum())} of {len(variants)} variants found at FDR {settings.fdr_alpha:g}")


def _associations(study: Study, out: AnalysisOutputs, settings: AnalysisSettings, genotypes, truth) -> None:
    names = list(study.covariates)
    # what each embedding dimension encodes: its regression on the covariates together (the adjusted components
    # used for the variants have no covariate left in them by construction)
    dims, dim_names = association_features(study.matrix, study.covariates, "dims")
    table = covariate_association_table(dims, dim_names, study.covariates, names, study.categorical)
    out.table("covariate_associations.csv", table)
    for term, passed in table.groupby("term")["passed"]:
        out.metrics[f"assoc_dims_{term.replace('=', '_')}"] = int(passed.sum())
    if genotypes is None:
        logger.info("association: no genotype table given, variant tests skipped")
        return
    features, feature_names = association_features(
        study.matrix,
        study.covariates,
        settings.assoc_features,
        settings.assoc_components,
        names,
        study.categorical,
        settings.seed,
    )
    _variants(study, out, settings, features, feature_names, Path(genotypes), causal_variants(truth))


def _probes(study: Study, out: AnalysisOutputs, settings: AnalysisSettings, splits: Mapping | None) -> None:
    if splits is None:
        splits = subject_split(study.subject_ids, settings.split_fractions, settings.seed)
    train, test = (_split_rows(study, splits, name) for name in ("train", "test"))
    targets = settings.probe_targets
    if targets is None:
        targets = (*study.covariates, *([settings.subgroup_column] if settings.subgroup_column else []))
    results = {}
    for name in targets:
        values = study.values(name)
        if values is None:
            logger.info(f"probes: no column '{name}' in {study.manifest}, skipped")
            continue
        categorical = name in study.categorical
        try:
            results[name] = probe_scores(
                study.matrix, values, train, test, categorical, settings.fractions, settings.repeats, settings.seed
            )
        except ValueError as e:  # e.g. a grouping with a single class in this cohort: nothing to probe
            logger.warning(f"probes: '{name}' skipped: {e}")
    out.metrics.update(probe_metrics(results))
    out.table("probes.csv", probe_table(results))


def _split_rows(study: Study, splits: Mapping, name: str) -> np.ndarray:
    """Row indices of a split given as row indices of the embeddings file or as subject ids."""
    if name not in splits:
        raise ConfigError(f"splits must hold '{name}', got {sorted(splits)}")
    chosen = np.asarray(splits[name])
    if chosen.dtype.kind in "iu":
        if chosen.size and (chosen.min() < 0 or chosen.max() >= len(study.subject_ids)):
            raise ConfigError(f"splits['{name}'] holds rows outside 0..{len(study.subject_ids) - 1}")
        return chosen
    listed = np.isin(study.subject_ids, chosen.astype(str))
    return np.flatnonzero(listed)


def _reference(study: Study, healthy: tuple[str, float] | None) -> np.ndarray | None:
    if healthy is None:
        return None
    values = study.values(healthy[0])
    if values is None:
        logger.info(f"no column '{healthy[0]}' in {study.manifest}: no healthy reference")
        return None
    return values == float(healthy[1])


def _timed(section: str, run, *args) -> None:
    start = time.perf_counter()
    run(*args)
    logger.info(f"{section}: {time.perf_counter() - start:.1f} s")


def _settings(options: Mapping[str, Any]) -> AnalysisSettings:
    """Settings from keyword options (YAML lists become tuples); an unknown option is a ConfigError."""
    known = set(AnalysisSettings.__dataclass_fields__)
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigError(f"analyze: unknown option(s) {unknown}; known: {sorted(known)}")
    tuples = ("healthy", "map_methods", "k_values", "probe_targets", "fractions")
    return AnalysisSettings(**{k: tuple(v) if k in tuples and v is not None else v for k, v in options.items()})


def analyze(
    embeddings_path: str | Path,
    manifest: CohortManifest | str | Path,
    output_dir: str | Path,
    genotypes: str | Path | None = None,
    truth: str | Path | Mapping | None = None,
    covariates: Sequence[str] = ("age", "sex", "site"),
    subgroup_column: str | None = "subgroup",
    healthy: Sequence | None = ("subgroup", 0),
    seed: int = 0,
    splits: Mapping[str, Sequence] | None = None,
    categorical: Collection[str] | None = None,
    image_columns: Sequence[str] = ("image",),
    **options: Any,
) -> dict[str, Any]:
    """Run the population analysis of one embeddings file and write its outputs (see the module docstring).

    Args:
        embeddings_path: the embeddings Parquet file (``subject_id``, ``e000``...).
        manifest: the cohort manifest (object or CSV/Parquet path); every embedded subject must be in it.
        output_dir: where the outputs go (``metrics.json`` there is merged into, not replaced).
        genotypes: CSV of ``subject_id`` and 0/1/2 variant columns, listing exactly the manifest's subjects.
            Defaults to None (variant tests skipped).
        truth: ``truth.json`` (or its mapping) with ``causal_variants``, for ``assoc_power`` and ``assoc_fdp``.
            Defaults to None.
        covariates: adjusting covariates, each a complete numeric manifest column. Defaults to age, sex, site.
        subgroup_column: a known grouping scored by the clusters and the normative model, when the manifest has
            it; None for none. Defaults to ``"subgroup"``.
        healthy: ``(column, value)`` selecting the healthy reference; None (or a missing column) skips the
            normative model and adjusts the clustering on everyone. Defaults to ``("subgroup", 0)``.
        seed: every seeded step (maps, clusters, folds, label draws, the default split). Defaults to 0.
        splits: ``{"train": ..., "test": ...}`` row indices of the embeddings file or subject ids, for the probes.
            Defaults to None: :func:`~medmonai.data.splits.subject_split` of the subject ids with ``seed`` (and
            ``split_fractions``), the same by-subject split the trainer draws with that seed.
        categorical: the categorical columns; None decides per column (whole numbers, at most 12 levels).
            Defaults to None.
        image_columns: the manifest's image columns when it is a path. Defaults to ``("image",)``.
        **options: fields of :class:`AnalysisSettings`: ``map_methods`` (``("umap", "tsne")``; empty skips the
            maps), ``umap_epochs`` (None), ``k_values`` (1..8), ``cluster_components`` (5), ``cluster_method``
            (``"gmm_bic"`` or ``"kmeans_silhouette"``, reported as ``cluster_ari_<subgroup>``), ``normative_folds``
            (5), ``normative_spline`` (e.g. ``{"age": 5}``; None), ``covariance`` (``"ledoit_wolf"``),
            ``assoc_features`` (``"pcs"`` or ``"dims"``), ``assoc_components`` (20), ``fdr_alpha`` (0.05),
            ``probe_targets`` (covariates and subgroup), ``fractions`` ((0.01, 0.1, 1.0)), ``repeats`` (5),
            ``split_fractions`` (train 0.8, val 0.1, test 0.1).

    Returns:
        This analysis's metrics (``metrics.json`` also keeps the keys already there).

    Raises:
        DataError: an input file is missing or malformed, or the subjects of the files do not match.
        ConfigError: an unknown option or a bad split.
    """
    healthy = tuple(healthy) if healthy is not None else None
    settings = _settings({**options, "subgroup_column": subgroup_column, "healthy": healthy, "seed": seed})
    extra = [c for c in (subgroup_column, healthy[0] if healthy else None, *(settings.probe_targets or ())) if c]
    study = load_study(embeddings_path, manifest, covariates, extra, categorical, image_columns)
    out = AnalysisOutputs(Path(output_dir))
    try:
        out.metrics.update({"analysis_subjects": len(study.subject_ids), "analysis_dims": study.matrix.shape[1]})
        reference = _reference(study, settings.healthy)
        _timed("maps", _maps, study, out, settings)
        _timed("subgroups", _subgroups, study, out, settings, reference)
        if reference is not None and reference.sum() >= 2 * settings.normative_folds:
            _timed("normative model", _normative, study, out, settings, reference)
        else:
            logger.info("normative model skipped: no healthy reference of at least 2 subjects per fold")
        _timed("associations", _associations, study, out, settings, genotypes, truth)
        _timed("probes", _probes, study, out, settings, splits)
        out.commit(f"Population analysis of {study.source.name}")
    except BaseException:
        out.staged.discard()
        raise
    return out.metrics
