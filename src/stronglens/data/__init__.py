"""From shards to model inputs: manifests and spatial splits, the split and paired-integrity checks, preprocessing
(normalisation into split arrays), gate features, and the image interventions (core masks, arc occlusion,
azimuthal shuffles) that training, gates and figures all apply. Its `settings` module holds the manifest and
preprocessing slices."""
