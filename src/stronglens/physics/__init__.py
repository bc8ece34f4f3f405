"""Physics of galaxy-galaxy lensing: one profile per module, batched in torch.

Conventions shared by every module here
---------------------------------------
* Angles on the sky are in arcsec; the image-plane frame has x along the
  pixel column index and y along the row index, origin at the lens centre.
* Position angles ``phi`` are in radians, counter-clockwise from +x.
* Axis ratios ``q`` = minor / major, in (0, 1].
* Batched parameters are tensors of shape (B,); coordinates are tensors whose
  leading dimension is B (any trailing shape), so one call renders B systems.
"""
