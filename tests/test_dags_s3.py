"""Past one machine: the nightly DAG with its storage root on S3 (``s3://koubei-test/data``).

The S3 API is moto's server on a free loopback port, reached through the same settings a
production worker uses (``AWS_ENDPOINT_URL`` and credentials from the environment, nothing in the
watch file), by this process and by the ``scrapy`` children it starts. It must pass the same
end-to-end check as a local folder (tests/test_dags.py).
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import UTC, datetime

import pyarrow.fs as pafs
import pytest
from koubei.pipelines.store import RawStore, filesystem
from moto.server import ThreadedMotoServer  # moto[server]: a test requirement (requirements.in)

pytest.register_assert_rewrite("tests.dag_helpers")  # its asserts explain failures too
from .dag_helpers import check_nightly_end_to_end, write_watch  # noqa: E402

pytest_plugins = ("tests.dag_helpers",)  # airflow_home, model, server: one of each per session

BUCKET = "koubei-test"
ROOT = f"s3://{BUCKET}/data"
S3_ENV = {  # dummy credentials: the endpoint is moto, on loopback
    "AWS_ACCESS_KEY_ID": "koubei-test",
    "AWS_SECRET_ACCESS_KEY": "koubei-test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """A moto S3 endpoint with an empty bucket; the environment points every S3 client at it."""
    import boto3

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {**S3_ENV, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"]).create_bucket(Bucket=BUCKET)
        yield env["AWS_ENDPOINT_URL"]
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


def test_board_lock_is_skipped_with_a_warning_on_s3(s3, caplog):
    store = RawStore(f"s3://{BUCKET}/locks")
    assert not store.local
    with caplog.at_level(logging.WARNING, logger="koubei.pipelines.store"):
        assert store.lock("ptt", "Stock") is None
        assert store.lock("ptt", "Gossiping") is None
    warned = [r.getMessage() for r in caplog.records if "board locks are skipped" in r.getMessage()]
    assert warned == [
        f"s3://{BUCKET}/locks is not a local folder: board locks are skipped; keep one writer per "
        "board (one crawl per source at a time: a `crawl` pool, see README 'Past one machine')"
    ]


def test_endpoint_in_the_uri_needs_no_endpoint_variable(s3, monkeypatch, tmp_path):
    # the other documented form: pyarrow's S3 URI options (endpoint, scheme, region), no credentials
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    monkeypatch.chdir(tmp_path)
    host = s3.removeprefix("http://")
    store = RawStore(f"s3://{BUCKET}/uri-form?endpoint_override={host}&scheme=http&region=us-east-1")
    at = datetime(2026, 10, 31, 12, tzinfo=UTC)
    store.advance_cursor("ptt", "Stock", "M.1.A.001", at)
    again = RawStore(f"s3://{BUCKET}/uri-form?endpoint_override={host}&scheme=http&region=us-east-1")
    assert again.read_cursor("ptt", "Stock").newest_post_id == "M.1.A.001"
    assert list(tmp_path.iterdir()) == []  # nothing written to a local folder named after the URI
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3)
    assert state_files(f"s3://{BUCKET}/uri-form") == ["_state/cursors/ptt/Stock.json"]


@pytest.mark.slow
def test_nightly_end_to_end_and_idempotent_on_s3(s3, airflow_home, model, server, tmp_path):
    watch = write_watch(tmp_path, model, root=ROOT, reports=str(tmp_path / "reports"))
    check_nightly_end_to_end(watch, server.base_url, ROOT, tmp_path / "reports")
    assert not (tmp_path / "data").exists()  # nothing fell back to a local folder
    assert [p for p in state_files() if p.startswith("_state/cursors/")] == [
        "_state/cursors/dcard/3c.json",
        "_state/cursors/dcard/buyonline.json",
        "_state/cursors/mobile01/383.json",
        "_state/cursors/mobile01/568.json",
        "_state/cursors/ptt/Lifeismoney.json",
        "_state/cursors/ptt/MobileComm.json",
    ]


def state_files(root: str = ROOT) -> list[str]:
    """The objects under ``<root>/_state`` (cursors, alert state), relative to the root, sorted."""
    fs, base = filesystem(root)
    found = fs.get_file_info(pafs.FileSelector(f"{base}/_state", recursive=True))
    return sorted(i.path.removeprefix(f"{base}/") for i in found if i.type == pafs.FileType.File)
