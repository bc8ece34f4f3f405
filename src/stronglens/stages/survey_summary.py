"""Rule survey_summary: counts and parameter ranges of one dataset's shards.

python -m stronglens.stages.survey_summary --out summary.json part-0.parquet part-1.parquet ...
"""

from __future__ import annotations

import argparse

from stronglens.storage.artifacts import read_parquet_metadata, write_json
from stronglens.survey.synthetic.summary import read_metadata_columns, summarise


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("shards", nargs="+")
    args = ap.parse_args(argv)
    summary = summarise(read_metadata_columns(args.shards))
    summary["provenance"] = read_parquet_metadata(args.shards[0])
    summary["shards"] = list(args.shards)
    write_json(summary, args.out)
    mu = summary.get("mu_eff")
    if mu:
        print(f"{summary['n_pairs']} rows; lenses' mu_eff: median {mu['median']:.2f}, "
              + ", ".join(f"{k.replace('fraction_above_', '> ')}: {v:.1%}" for k, v in mu.items() if k.startswith("fraction"))
              + f"; deciles {', '.join(f'{d:.1f}' for d in mu['deciles'])}")


if __name__ == "__main__":
    main()
