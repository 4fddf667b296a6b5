"""medmonai: unsupervised learning and anomaly mapping for medical images, built on MONAI.

Importing medmonai changes no process-wide state: the one-line report of input errors is installed only on the
command-line paths (:func:`medmonai.bundle.check_command_line` for ``python -m monai.bundle run``, and
``python -m medmonai.bundle``), so a notebook keeps its own error display.
"""

__version__ = "0.1.0"
