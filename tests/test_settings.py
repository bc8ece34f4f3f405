"""Typed settings at the stage boundary: parsing, errors that name the key, and exact round trips."""

from __future__ import annotations

import json
from dataclasses import FrozenInstanceError

import pytest
from helpers import REPO, validated

from stronglens.config.selection_grid import resolved_grid
from stronglens.config.settings import SettingsError, as_dict, load_settings, parse_settings, settings_keys
from stronglens.config.validation import GATES_EXECUTION_KEYS, science_run, without
from stronglens.data.settings import ManifestSettings, PreprocessSettings
from stronglens.figures.settings import FigureSettings
from stronglens.gates.settings import DataGateSettings, GateSettings, parse_thresholds
from stronglens.selection.settings import (
    PsfSettings,
    SelectionFigureSettings,
    SelectionGatherSettings,
    SelectionShardSettings,
)
from stronglens.survey.settings import SkySettings, SurveySettings
from stronglens.train.settings import RunSettings


@pytest.fixture(scope="module")
def default_config() -> dict:
    """config/config.yaml, validated and resolved as the Snakefile does."""
    import yaml

    return validated(yaml.safe_load((REPO / "config" / "config.yaml").read_text()))


def slices(cfg: dict) -> list[tuple[type, dict]]:
    """Every (settings class, config slice) the workflow hands a stage, for the default config."""
    selection = {**cfg["selection"], "grid": resolved_grid(cfg["selection"])}
    out = [(GateSettings, without(cfg["gates"], GATES_EXECUTION_KEYS)), (DataGateSettings, cfg["data_gates"]),
           (FigureSettings, cfg["figures"])]
    out += [(PreprocessSettings, mode) for mode in cfg["preprocessing"].values()]
    out += [(cls, {k: selection[k] for k in settings_keys(cls)})
            for cls in (SelectionShardSettings, SelectionGatherSettings, SelectionFigureSettings)]
    out += [(RunSettings, science_run(run)) for run in cfg["resolved_runs"].values()]
    out += [(PsfSettings, {k: ds[k] for k in ("psf_model", "moffat_beta")}) for ds in cfg["datasets"].values()]
    out += [(SurveySettings, {k: ds[k] for k in settings_keys(SurveySettings)}) for ds in cfg["datasets"].values()
            if ds["source"] == "synthetic"]
    out += [(ManifestSettings, {k: ds[k] for k in settings_keys(ManifestSettings)}) for ds in cfg["datasets"].values()]
    return out


def test_every_default_slice_round_trips_exactly(default_config):
    """as_dict(parse(slice)) is the slice itself: provenance and hashes stay those of the config."""
    for cls, block in slices(default_config):
        parsed = parse_settings(cls, block, cls.__name__)
        assert as_dict(parsed) == json.loads(json.dumps(block)), cls.__name__


def test_settings_are_frozen_and_lists_become_tuples(default_config):
    gates = parse_settings(GateSettings, without(default_config["gates"], GATES_EXECUTION_KEYS), "gates")
    assert isinstance(gates.core_radii, tuple) and gates.thresholds["auroc"].passes == 0.85
    with pytest.raises(FrozenInstanceError):
        gates.eval_split = "val"


def test_an_unknown_key_names_itself_and_the_closest_known_one():
    with pytest.raises(SettingsError, match=r"--config: unknown key 'anulus' \(did you mean 'annulus'\?\)"):
        parse_settings(PreprocessSettings, {"mode": "raw_robust", "anulus": [20, 32]}, "--config")


def test_a_missing_key_is_named_with_its_path(default_config):
    run = science_run(next(iter(default_config["resolved_runs"].values())))
    del run["train"]["hard_negatives"]["ring_px"]  # has a default: fine
    parse_settings(RunSettings, run, "run")
    del run["train"]["lr"]
    with pytest.raises(SettingsError, match=r"run\.train: missing key 'lr'"):
        parse_settings(RunSettings, run, "run")


@pytest.mark.parametrize("block, message", [
    ({"mode": "raw_robust", "annulus": [20]}, r"--config\.annulus: expected 2 values, got 1"),
    ({"mode": "raw_robust", "annulus": [20, "x"]}, r"--config\.annulus\[1\]: expected a number, got 'x'"),
    ({"mode": 3, "annulus": [20, 32]}, r"--config\.mode: expected str, got 3"),
    ({"mode": "raw_robust", "annulus": [20, 32], "clip": True}, r"--config\.clip: expected a number, got True"),
])
def test_a_value_of_the_wrong_type_is_named(block, message):
    with pytest.raises(SettingsError, match=message):
        parse_settings(PreprocessSettings, block, "--config")


def test_thresholds_must_name_known_gates(default_config):
    thresholds = default_config["gates"]["thresholds"]
    with pytest.raises(SettingsError, match="unknown gate 'aurok'"):
        parse_thresholds({**thresholds, "aurok": {"pass": 0.8}}, "gates.thresholds")
    with pytest.raises(SettingsError, match="missing key 'auroc'"):
        parse_thresholds(without(thresholds, ("auroc",)), "gates.thresholds")
    with pytest.raises(SettingsError, match=r"gates.thresholds.auroc: missing key 'pass'"):
        parse_thresholds({**thresholds, "auroc": {"fail": 0.5}}, "gates.thresholds")


def test_a_settings_file_is_named_in_errors(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{"mode": "raw_robust"}')
    with pytest.raises(SettingsError, match=rf"--config \({path}\): missing key 'annulus'"):
        load_settings(PreprocessSettings, str(path), "--config")
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(PreprocessSettings, str(tmp_path / "none.json"), "--config")
    with pytest.raises(SettingsError, match="not valid JSON"):
        load_settings(PreprocessSettings, "{mode: 1}", "--config")


def hand_runs(cfg: dict) -> list[tuple[str, list[str], str, str]]:
    """(stage, argv with one misspelled key, the flag, the bad key): each must stop at the boundary."""
    pp = json.dumps({"mode": "raw_robust", "annulus": [20, 32], "clipp": 10})
    gates = without(cfg["gates"], GATES_EXECUTION_KEYS)
    bad_gates = json.dumps({**without(gates, ("eval_split",)), "eval_splt": "test"})
    selection = {**cfg["selection"], "grid": resolved_grid(cfg["selection"])}
    shard = {k: selection[k] for k in settings_keys(SelectionShardSettings)}
    gather = {k: selection[k] for k in settings_keys(SelectionGatherSettings)}
    figures = json.dumps({**cfg["figures"], "dpii": 100})
    survey = {k: cfg["datasets"]["synth"][k] for k in settings_keys(SurveySettings)}
    survey["source_prior"] = {**survey["source_prior"], "mag": [20, 21]}
    sky = {k: cfg["datasets"]["sky"][k] for k in settings_keys(SkySettings)}
    sky["sky"] = {**sky["sky"], "negatives_per_lenz": 5}
    sources = json.dumps({**cfg["sources"], "stamp_sise": 64})
    return [
        ("build_source_library", ["--sources", sources, "--seed", "1", "--out", "l.npz"], "--sources", "stamp_sise"),
        ("simulate_sky", ["--dataset", "sky", "--rows", "0", "4", "--seed", "1", "--library", "l.npz", "--config",
                          json.dumps(sky), "--out", "s.parquet"], "--config", "negatives_per_lenz"),
        ("figures_sources", ["--library", "l.npz", "--figures", figures, "--out", "library=a", "library_pdf=b", "sky=c",
                             "sky_pdf=d"], "--figures", "dpii"),
        ("simulate_survey", ["--dataset", "synth", "--rows", "0", "4", "--seed", "1", "--config", json.dumps(survey),
                             "--out", "s.parquet"], "--config", "mag"),
        ("preprocess", ["--manifest", "m.parquet", "--config", pp, "--stamp-size", "64", "--out", "train=x"], "--config",
         "clipp"),
        ("gates", ["--checkpoint", "b.pt", "--data", "d", "--config", bad_gates, "--data-gates",
                   json.dumps(cfg["data_gates"]), "--seed", "1", "--out", "report=r.json", "scores=s.parquet"],
         "--config", "eval_splt"),
        ("data_gates", ["--config", json.dumps({**cfg["data_gates"], "fold": 3}), "--thresholds",
                        json.dumps(cfg["gates"]["thresholds"]), "--seed", "1", "--input", "paired", "d",
                        "--splits", "test", "--out", "o.json"], "--config", "fold"),
        ("selection_shard", ["--checkpoint", "b.pt", "--preprocessing", json.dumps(cfg["preprocessing"]["raw_robust"]),
                             "--stamp", "64", "--selection", json.dumps({**shard, "fprs": [0.001]}), "--shard", "1-of-2",
                             "--seed", "1", "--out", "s.parquet"], "--selection", "fprs"),
        ("selection_gather", ["--shards", "s.parquet", "--selection", json.dumps({**gather, "batch": 256}),
                              "--out", "injections=i", "completeness=c", "sensitivity=s", "summary=j"], "--selection",
         "batch"),
        ("realism_audit", ["--checkpoint", "b.pt", "--preprocessing", json.dumps(cfg["preprocessing"]["raw_robust"]),
                           "--catalog", json.dumps({"dataset": "sky", "source": "sky", "split": "test", "stamp_size": 64}),
                           "--catalog-manifest", "m.parquet", "--run-manifest", "r.parquet", "--seed", "1",
                           "--config", json.dumps({"ceiling": {"per_bim": 3}}), "--out", "report=r.json", "arrays=a.npz"],
         "--config", "per_bim"),
        ("figures_realism", ["--run", "P4", "--report", "r.json", "--arrays", "a.npz", "--figures", figures, "--seed", "1",
                             "--out", *(f"{n}{s}=x{i}{s}" for i, n in enumerate(("realism_recall", "realism_embedding",
                                                                                   "realism_diagnostics"))
                                        for s in ("", "_pdf"))], "--figures", "dpii"),
        ("experiments", ["--reports", "g.json", "--infos", "i.json", "--threshold-sets", json.dumps({"auroc_min": 0.9}),
                         "--out", "e.tsv"], "--threshold-sets", "auroc_min"),
        ("figures_compare", ["--reports", "r.json", "--experiments", "e.tsv", "--figures", figures, "--out", "runs=a",
                             "runs_pdf=b", "table=c"], "--figures", "dpii"),
    ]


def test_a_hand_run_stage_with_a_misspelled_key_stops_naming_it(default_config, capsys, tmp_path, monkeypatch):
    """No stage reads an input or writes an output before its settings parse."""
    import importlib

    monkeypatch.chdir(tmp_path)
    for stage, argv, flag, key in hand_runs(default_config):
        main = importlib.import_module(f"stronglens.stages.{stage}").main
        with pytest.raises(SystemExit) as exc:
            main(argv)
        err = capsys.readouterr().err
        assert exc.value.code == 2 and f"{flag}" in err and repr(key) in err, (stage, err)
    assert list(tmp_path.iterdir()) == []


def test_declared_outputs_must_all_be_given(default_config, capsys):
    from stronglens.stages import selection_gather

    gather = json.dumps({k: default_config["selection"][k] for k in settings_keys(SelectionGatherSettings)})
    with pytest.raises(SystemExit):
        selection_gather.main(["--shards", "s.parquet", "--selection", gather, "--out", "injections=i", "summary=j",
                               "completeness=c"])
    assert "missing output 'sensitivity'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        selection_gather.main(["--shards", "s", "--selection", gather, "--out", "injections=i", "summry=j"])
    assert "unknown output 'summry'" in capsys.readouterr().err
