"""The watch file: the example `koubei init` writes validates, and mistakes get one-line messages that
name the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from koubei.nlp.brands import load_watch
from koubei.pipelines.alerts import load_alert_config
from koubei.pipelines.cli import main
from koubei.pipelines.watch import EXAMPLE, WatchFileError, load_watch_file


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watch.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_validates_and_resolves_paths(tmp_path):
    cfg = load_watch_file(write(tmp_path, EXAMPLE))
    assert [b.name for b in cfg.brands] == ["Apple", "Samsung", "全聯", "家樂福"]
    assert set(cfg.groups) == {"phones", "supermarkets"}
    assert cfg.sources.mobile01 == ("568", "383")
    assert cfg.root == str((tmp_path / "data").resolve())  # relative to the watch file
    assert cfg.crawl.window("2026-11-23") == ("2026-11-21", "2026-11-23")
    assert cfg.crawl_jobs()[0] == {"site": "ptt", "sources": ["MobileComm"]}
    assert len(cfg.crawl_jobs()) == 7
    assert cfg.alerts.notify == ("env:KOUBEI_SLACK_URL",)
    # the stages read their own sections of the same file
    assert [e.name for e in load_watch(tmp_path / "watch.yaml")] == [b.name for b in cfg.brands]
    assert load_alert_config(tmp_path / "watch.yaml").min_volume == 10


def test_per_site_jobs_and_object_store_root(tmp_path):
    text = "brands: [A]\nsources: {ptt: [X, Y], mobile01: [5]}\ncrawl: {per_task: site}\nstorage: {root: 's3://b/k'}\n"
    cfg = load_watch_file(write(tmp_path, text))
    assert cfg.crawl_jobs() == [
        {"site": "ptt", "sources": ["X", "Y"]},
        {"site": "mobile01", "sources": ["5"]},
    ]
    assert cfg.root == "s3://b/k"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("brands: [A]\nsorces: {}\n", ":2: sorces: unknown section; did you mean 'sources'?"),
        (
            "brands: [A]\nsources:\n  mobile01: ['12', abc]\n",
            ":3: sources.mobile01: Mobile01 forums are numeric ids (topiclist.php?f=ID), not abc",
        ),
        (
            "brands: [A]\ncrawl:\n  lookback: 3\n",
            ":3: crawl.lookback: unknown key; did you mean 'lookback_days'?",
        ),
        (
            "brands: [A]\ncrawl:\n  lookback_days: -1\n",
            ":3: crawl.lookback_days: Input should be greater than or equal to 0",
        ),
        (
            "brands: [A]\nalerts:\n  min_volume: 0\n",
            ":3: alerts: min_volume: Input should be greater than or equal to 1",
        ),
        (
            "brands:\n  - name: A\n  - name: A\n",
            ":3: brands[2] (A): duplicate name, first defined at brands[1]",
        ),
        (
            "brands:\n  - name: A\n    group: phone\ngroups:\n  phones: {}\n",
            ":3: brands[0].group: group 'phone' is not declared under groups:; did you mean 'phones'?",
        ),
        ("brands: [A]\nsources:\n  ptt: [X, X]\n", ":3: sources.ptt: listed twice: X"),
        (
            "brands: [A]\nmodels:\n  backend: gpu\n",
            ":3: models.backend: Input should be 'onnx-int8', 'onnx' or 'torch'",
        ),
        ("brands: [A\n", ": invalid YAML"),
        ("sources: {}\n", ": expected a mapping with a 'brands:' list at the top level"),
    ],
)
def test_mistakes_name_file_line_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(WatchFileError) as err:
        load_watch_file(path)
    assert str(err.value).startswith(str(path))
    assert message in str(err.value)


def test_init_writes_the_example_and_checks_it(tmp_path):
    runner = CliRunner()
    path = tmp_path / "conf" / "watch.yaml"
    first = runner.invoke(main, ["init", str(path)])
    assert first.exit_code == 0, first.output
    assert path.read_text(encoding="utf-8") == EXAMPLE
    again = runner.invoke(main, ["init", str(path)])
    assert again.exit_code == 1 and "exists; use --force" in again.output
    check = runner.invoke(main, ["init", "--check", str(path)])
    assert check.exit_code == 0, check.output
    assert "ok — 4 brands, 2 groups, sources: ptt 3, dcard 2, mobile01 2" in check.output
    path.write_text(EXAMPLE.replace("window_days: 1", "window_days: 0"), encoding="utf-8")
    bad = runner.invoke(main, ["init", "--check", str(path)])
    assert (
        bad.exit_code == 1 and "crawl.window_days: Input should be greater than or equal to 1" in bad.output
    )
