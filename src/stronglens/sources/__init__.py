"""Real-galaxy sources: the HST deep-field image scikit-image ships, segmented into a library of per-band
galaxy stamps (with measured centroid, half-light radius and axis ratio) split into disjoint ``sky`` and
``injection`` subsets, and the draws that lay a library galaxy on a source plane (docs/science.md section 11).
Settings in `stronglens.sources.settings`."""
