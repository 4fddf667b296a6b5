"""VAE anomaly scores per OCT disease class (the ``oct_vae_anomaly`` bundle), beside the published AUROC table."""

from medmonai.apps.oct.report import REFERENCE_001_AUC, SCORES, DiseaseAUCReport, disease_auc_table

__all__ = ["REFERENCE_001_AUC", "SCORES", "DiseaseAUCReport", "disease_auc_table"]
