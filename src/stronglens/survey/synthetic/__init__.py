"""The embedded synthetic DR10-like survey: host galaxies, observing conditions, lens and source priors, the
rendered pairs written as shards, and their summary."""
