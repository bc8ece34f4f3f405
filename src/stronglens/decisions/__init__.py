"""The lens team's two decision trees, applied to the project's own outputs instead of by hand (docs/decisions.md).

It owns the experiment-matrix tree of seed 004 §10 (A1 and B1 first; SUCCESS,
ACCEPTABLE, test the masking variants B2 / B3 / B4, or stop) read from the
gates reports (results/gates/<run>.json), and the sequential tree of seed 003
§20.2 (AUROC gain between two runs, tier A recall at p > 0.5, any selection
cell above 20%, and the literature table, which stays a manual step) read
from gates, realism and selection outputs. Every node visited is recorded
with the figures it measured and its threshold; a missing run or an N/A gate
stops the tree at that node ("cannot decide") naming what is missing. The
package reads those outputs as plain JSON / tables: it imports no stage
package above the config and core helpers.
"""
