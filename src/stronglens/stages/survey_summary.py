"""Rule survey_summary: counts and parameter ranges of one dataset's shards.

python -m stronglens.stages.survey_summary [--host-match-arcsec 0.5] --out summary.json part-0.parquet ...

The summary's ``hosts`` block counts the rows that share a sky position (one
host, `stronglens.data.hosts`) with another row.
"""

from __future__ import annotations

import argparse

from stronglens.data.hosts import shared_host_counts, sky_groups
from stronglens.storage.artifacts import read_parquet_metadata, write_json
from stronglens.survey.synthetic.summary import read_metadata_columns, summarise


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--host-match-arcsec", type=float, default=0.5, help="rows closer than this (arcsec) are one host")
    ap.add_argument("shards", nargs="+")
    args = ap.parse_args(argv)
    meta = read_metadata_columns(args.shards)
    summary = summarise(meta)
    placed = meta[meta["ra"].notna() & meta["dec"].notna()]
    summary["hosts"] = {"match_radius_arcsec": args.host_match_arcsec, "n_rows_without_coordinates": int(len(meta) - len(placed)),
                        **shared_host_counts(sky_groups(placed["ra"].to_numpy(), placed["dec"].to_numpy(), args.host_match_arcsec))}
    summary["provenance"] = read_parquet_metadata(args.shards[0])
    summary["shards"] = list(args.shards)
    write_json(summary, args.out)
    hosts = summary["hosts"]
    print(f"{hosts['n_rows']} placed rows on {hosts['n_hosts']} hosts; {hosts['n_rows_sharing_a_host']} rows share a host "
          f"(within {args.host_match_arcsec}\")")
    mu = summary.get("mu_eff")
    if mu:
        print(f"{summary['n_pairs']} rows; lenses' mu_eff: median {mu['median']:.2f}, "
              + ", ".join(f"{k.replace('fraction_above_', '> ')}: {v:.1%}" for k, v in mu.items() if k.startswith("fraction"))
              + f"; deciles {', '.join(f'{d:.1f}' for d in mu['deciles'])}")


if __name__ == "__main__":
    main()
