"""stronglens: strong-lens finder workflow library.

Import-light on purpose: the Snakefile imports a few stdlib-only modules
(`stronglens.codehash`, `stronglens.configcheck`) and must not pay for torch.
"""

__version__ = "0.1.0"
