"""The embedded synthetic DR10-like survey: hosts, observing conditions, arcs, shards."""
