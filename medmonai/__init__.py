"""medmonai: unsupervised learning and anomaly mapping for medical images, built on MONAI."""

from medmonai.errors import install_excepthook

__version__ = "0.1.0"

# Bundles run through ``python -m monai.bundle``; importing medmonai from a config makes our input errors one line.
install_excepthook()
