"""The embedding export: the population study's collector writes every subject's embedding once a run completes."""

import numpy as np
import torch
from ignite.engine import Engine

from medmonai.apps.population import embedding_model, read_embeddings
from medmonai.apps.population.export import EmbeddingWriter


def test_the_writer_keeps_subjects_in_order_across_batches_and_rewrites_each_run(tmp_path):
    batches = [
        {"x": torch.arange(6.0).view(2, 3), "subject_id": ["s1", "s2"]},
        {"x": torch.ones(1, 3), "subject_id": ["s3"]},
    ]
    engine = Engine(lambda e, batch: {"pred": batch["x"] * 2})
    writer = EmbeddingWriter(tmp_path / "embeddings.parquet", model_name="simclr")
    writer.attach(engine)
    engine.run(batches, max_epochs=1)
    ids, matrix = read_embeddings(tmp_path / "embeddings.parquet")
    np.testing.assert_array_equal(ids, ["s1", "s2", "s3"])
    np.testing.assert_array_equal(matrix, [[0, 2, 4], [6, 8, 10], [2, 2, 2]])
    assert matrix.dtype == np.float32 and embedding_model(tmp_path / "embeddings.parquet") == "simclr"
    engine.run(batches[:1], max_epochs=1)  # a second run writes its own subjects, not the first run's as well
    assert read_embeddings(tmp_path / "embeddings.parquet")[0].tolist() == ["s1", "s2"]
