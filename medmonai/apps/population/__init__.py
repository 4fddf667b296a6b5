"""The ``population_ssl`` study: a cohort cached and split by subject, per-subject embeddings, and their analysis.

- :mod:`~medmonai.apps.population.data`: the cohort (a manifest or the simulated population), checked, cached, split;
- :mod:`~medmonai.apps.population.embed` and :mod:`~medmonai.apps.population.export`: one embedding per subject;
- :mod:`~medmonai.apps.population.few_labels`: probe, fine-tuning and from-scratch training at few labels;
- :mod:`~medmonai.apps.population.embeddings`: the embeddings Parquet layout (``subject_id``, ``e000``...);
- :mod:`~medmonai.apps.population.covariates`: covariate designs and covariate adjustment;
- :mod:`~medmonai.apps.population.visualise`: UMAP and t-SNE maps coloured by covariate;
- :mod:`~medmonai.apps.population.subgroups`: clusters of the adjusted embedding, k by BIC and silhouette;
- :mod:`~medmonai.apps.population.normative`: deviation percentiles from a healthy reference;
- :mod:`~medmonai.apps.population.association`: feature x covariate and feature x variant regressions with FDR;
- :mod:`~medmonai.apps.population.probes`: linear probes at 1%, 10% and 100% of the labels;
- :mod:`~medmonai.apps.population.study`: the embeddings aligned by subject with the manifest's columns;
- :mod:`~medmonai.apps.population.report`: the analysis's staged outputs and its HTML report page;
- :mod:`~medmonai.apps.population.analyze`: all of it on one embeddings file, written to a folder.
"""

from medmonai.apps.population.analyze import AnalysisSettings, analyze
from medmonai.apps.population.association import (
    RegressionTests,
    association_features,
    covariate_association_table,
    covariate_tests,
    discovery_metrics,
    fdr,
    genomic_inflation,
    manhattan_figure,
    qq_figure,
    simes,
    variant_tests,
)
from medmonai.apps.population.covariates import CovariateDesign, adjust, is_categorical
from medmonai.apps.population.data import PopulationData, population_data
from medmonai.apps.population.embed import embed_rows
from medmonai.apps.population.embeddings import embedding_columns, embedding_model, read_embeddings, write_embeddings
from medmonai.apps.population.export import EmbeddingExport, EmbeddingWriter
from medmonai.apps.population.few_labels import few_label_curves, few_label_study, finetune_regressor, reinitialised
from medmonai.apps.population.normative import (
    NormativeModel,
    NormativeResult,
    normative_deviation,
    normative_figure,
    normative_metrics,
)
from medmonai.apps.population.probes import label_draw, probe_metrics, probe_scores, probe_table
from medmonai.apps.population.study import Study, causal_variants, load_study
from medmonai.apps.population.subgroups import (
    SubgroupResult,
    adjusted_features,
    cluster_covariate_table,
    find_subgroups,
    selection_figure,
    subgroup_metrics,
)
from medmonai.apps.population.visualise import covariate_maps_figure, embedding_map

__all__ = [
    "EmbeddingExport",
    "EmbeddingWriter",
    "PopulationData",
    "embed_rows",
    "few_label_curves",
    "few_label_study",
    "finetune_regressor",
    "population_data",
    "reinitialised",
    "AnalysisSettings",
    "CovariateDesign",
    "NormativeModel",
    "NormativeResult",
    "RegressionTests",
    "Study",
    "SubgroupResult",
    "adjust",
    "adjusted_features",
    "analyze",
    "association_features",
    "causal_variants",
    "cluster_covariate_table",
    "covariate_association_table",
    "covariate_maps_figure",
    "covariate_tests",
    "discovery_metrics",
    "embedding_columns",
    "embedding_map",
    "embedding_model",
    "fdr",
    "find_subgroups",
    "genomic_inflation",
    "is_categorical",
    "label_draw",
    "load_study",
    "manhattan_figure",
    "normative_deviation",
    "normative_figure",
    "normative_metrics",
    "probe_metrics",
    "probe_scores",
    "probe_table",
    "qq_figure",
    "read_embeddings",
    "selection_figure",
    "simes",
    "subgroup_metrics",
    "variant_tests",
    "write_embeddings",
]
