"""The replay server's URL layout: query strings in file names, JSON resources, flat fixture names."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from koubei.pipelines.replay import FaultPlan, ReplayServer, lookup, routes_for

from .conftest import FIXTURES, require_shared


def test_query_in_file_names_and_any_query_json(tmp_path):
    (tmp_path / "service/api/v2/posts/7").mkdir(parents=True)
    (tmp_path / "service/api/v2/posts/7.json").write_text('{"id": 7}')
    (tmp_path / "service/api/v2/posts/7/comments@limit=5.json").write_text("[1]")
    (tmp_path / "service/api/v2/posts/7/comments@after=5&limit=5.json").write_text("[2]")
    table = routes_for(tmp_path)
    assert lookup(table, "/service/api/v2/posts/7", "anything=1").path.name == "7.json"
    assert lookup(table, "/service/api/v2/posts/7/comments", "limit=5&after=5").path.name.startswith(
        "comments@after"
    )
    assert lookup(table, "/service/api/v2/posts/7/comments", "limit=5").path.name == "comments@limit=5.json"
    assert lookup(table, "/service/api/v2/posts/7/comments", "limit=6") is None
    with ReplayServer(tmp_path) as server:
        with urllib.request.urlopen(
            f"{server.base_url}/service/api/v2/posts/7/comments?limit=5&after=5"
        ) as r:
            assert (r.headers["Content-Type"], json.load(r)) == ("application/json; charset=utf-8", [2])
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{server.base_url}/service/api/v2/posts/8")
        assert missing.value.code == 404 and b"error" in missing.value.read()
        assert server.hits("/service/api/v2/posts/7/comments?after=5&limit=5") == 1
        assert server.hits("/service/api/v2/posts/7/comments") == 1


def test_faults_by_path_or_by_query():
    plan = FaultPlan.parse(["/topiclist.php?f=1&p=2=429,503", "/topiclist.php=cfblock"])
    assert plan.take("/topiclist.php", "p=2&f=1") == "429"  # parameters in any order
    assert plan.take("/topiclist.php", "f=1") == "cfblock"  # the path's faults: any query
    assert plan.take("/topiclist.php", "f=1&p=2") == "503"
    assert plan.take("/topiclist.php", "f=1&p=2") is None
    with pytest.raises(ValueError):
        FaultPlan().add("/x", "slow")


def test_mobile01_fixture_tree_routes():
    table = routes_for(FIXTURES / "mobile01_site")
    assert (
        lookup(table, "/topicdetail.php", "t=9000001&p=2&f=9001").path.name
        == "topicdetail.php@f=9001&t=9000001&p=2.html"
    )
    assert lookup(table, "/topiclist.php", "f=9001").path.name == "topiclist.php@f=9001.html"


@pytest.mark.shared
def test_flat_dcard_and_mobile01_names():
    dcard = routes_for(require_shared("fixtures", "dcard"))
    assert dcard["/service/api/v2/forums/makeup/posts"].path.name.startswith("dcard_api_forums_makeup")
    assert dcard["/_api/forums/funny/posts"].path.name.startswith("dcard_api_forums_funny")  # 2016 root
    assert dcard["/service/api/v2/posts/258862181"].path.name.startswith("dcard_api_post_258862181_detail")
    wrapped = dcard["/service/api/v2/posts/258994745/comments"]
    assert json.loads(wrapped.body())[0]["floor"] == 1  # served unwrapped, as the API served it
    assert dcard["/f"].path.suffix == ".html"
    hot = routes_for(require_shared("fixtures", "mobile01"))
    assert lookup(hot, "/hottopics.php", "id=1").path.name.startswith("mobile01_hottopics_id1")
