"""Fixed facts of the DESI Legacy Imaging Surveys DR10 that the library relies on."""

BANDS: tuple[str, ...] = ("g", "r", "z")
PIXSCALE_ARCSEC: float = 0.262  # arcsec / pixel
ZEROPOINT_AB: float = 22.5  # nanomaggy zeropoint: f_nmgy = 10**(0.4 * (22.5 - mag))
# Kolmogorov lambda^(-1/5) scaling of the seeing FWHM relative to r.
BAND_FWHM_FACTOR: dict[str, float] = {"g": 1.05, "r": 1.00, "z": 0.94}
