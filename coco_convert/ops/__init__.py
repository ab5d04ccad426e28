"""Dataset operations: merge, split, filter, remap, diff, stats, sample."""
