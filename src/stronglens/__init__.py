"""stronglens: strong-lens finder workflow library.

Import-light on purpose: the Snakefile imports a few stdlib-only modules
(`stronglens.config.codehash`, `stronglens.config.validation`) and must not pay for torch.
"""

__version__ = "0.1.0"
