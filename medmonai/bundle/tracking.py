"""Log a workflow's report files to MLflow when no engine handler can: files written after the last engine ends.

MONAI's ``MLFlowHandler`` logs artifacts when its engine completes. A protocol that writes its report after its
engines (the brain bundle's ``evaluate.yaml`` and ``calibrate.yaml``) names those files in the config id
``report_files``, and the bundle's ``mlflow.yaml`` calls :func:`log_report` from ``finalize``.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from medmonai.errors import ConfigError

__all__ = ["log_report", "mlflow_metrics", "report_paths"]

logger = logging.getLogger(__name__)


# characters of combined method names (``ssad3d|intensity``, ``ae3d~z``) that MLflow refuses in metric names
_MLFLOW_NAME = str.maketrans({"+": "_plus_", "|": "_or_", "~": "_tilde_"})


def mlflow_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The finite numbers of a ``metrics.json``, under names MLflow accepts (``a+b`` becomes ``a_plus_b``)."""
    return {
        re.sub(r"[^\w\-. :/]", "_", k.translate(_MLFLOW_NAME)): float(v)
        for k, v in metrics.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    }


def log_report(
    tracking_uri: str,
    experiment_name: str,
    run_name: str | None,
    files: Sequence[str],
    params: Mapping[str, Any] | None = None,
    disabled: bool = False,
    config: str = "",
) -> str | None:
    """Log ``files`` as one MLflow run's artifacts, with ``params`` and the numbers of any ``metrics.json``.

    Args:
        tracking_uri: the MLflow store.
        experiment_name: the experiment.
        run_name: the run's name, or None.
        files: the files (a missing or empty entry is skipped); a ``*metrics.json`` among them is also logged as
            metrics (see :func:`mlflow_metrics`).
        params: parameters of the run. Defaults to None.
        disabled: do nothing (not rank 0). Defaults to False.
        config: the resolved config MONAI saved for this run, logged too. Defaults to "" (none).

    Returns:
        The run id, or None when nothing was logged (no report file exists: not a reporting workflow).

    Raises:
        ConfigError: MLflow is not installed.
    """
    present = [Path(f) for f in files if f and Path(f).is_file()]
    if disabled or not present:
        return None
    if config and Path(config).is_file():
        present.append(Path(config))
    try:
        import mlflow
    except ImportError as e:
        raise ConfigError('MLflow tracking needs pip install "medmonai[tracking]"') from e
    client = mlflow.tracking.MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(experiment_name)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(experiment_name)
    run = client.create_run(experiment_id, run_name=run_name)
    run_id = run.info.run_id
    for key, value in (params or {}).items():
        client.log_param(run_id, key, value)
    for path in present:
        if path.name.endswith("metrics.json"):
            for key, value in mlflow_metrics(json.loads(path.read_text(encoding="utf-8"))).items():
                client.log_metric(run_id, key, value)
        client.log_artifact(run_id, str(path))
    client.set_terminated(run_id)
    logger.info(f"logged {len(present)} report files to MLflow run {run_id}")
    return run_id


def report_paths(folder: str | Path, names: Sequence[str]) -> list[str]:
    """The paths of a report's ``names`` in ``folder`` (a config's ``report_files``)."""
    return [str(Path(folder) / name) for name in names]
