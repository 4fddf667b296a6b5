"""Dictionary and engine-output keys shared by data, engines, handlers and metrics."""

from monai.utils import StrEnum


class Keys(StrEnum):
    """Keys of datalist items, batches and engine outputs.

    Using one enum keeps readers, engines, handlers and metrics agreeing on names.
    """

    IMAGE = "image"
    LABEL = "label"
    BRAIN_MASK = "brain_mask"
    RECON = "recon"
    PRED = "pred"
    MU = "mu"
    LOGVAR = "logvar"
    Z = "z"
    LOSS = "loss"
    RECON_NLL = "recon_nll"
    KL = "kl"
    ELBO = "elbo"
    ANOMALY_MAP = "anomaly_map"
    SCORE = "score"
