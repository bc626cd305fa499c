"""The knowledge base against the real server: documents, ranked search, snippets and the cache."""

from __future__ import annotations

import re

import httpx
import pytest

from platform_accounts import Account
from platform_api.knowledge.search_cache import SearchCache


def new_workspace(account: Account) -> str:
    response = account.post("/api/v1/workspaces", json={"name": "kb"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def add_document(account: Account, workspace_id: str, title: str, content: str) -> str:
    response = account.post(
        f"/api/v1/workspaces/{workspace_id}/documents",
        json={"title": title, "content": content, "tags": ["ops"]},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def search(account: Account, workspace_id: str, q: str, **params: object) -> httpx.Response:
    return account.get(f"/api/v1/workspaces/{workspace_id}/search", params={"q": q, **params})


def cache_counter(client: httpx.Client, name: str) -> float:
    text = client.get("/metrics").text
    match = re.search(rf'^platform_cache_{name}_total{{cache="search"}} (\S+)$', text, re.M)
    return float(match.group(1)) if match else 0.0


def test_create_and_list_documents(member: Account) -> None:
    ws = new_workspace(member)
    created = member.post(
        f"/api/v1/workspaces/{ws}/documents",
        json={"title": "Backup restore", "content": "Restore the nightly backup.", "tags": ["db"]},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["content"] == "Restore the nightly backup."
    assert body["tags"] == ["db"]
    assert body["workspace_id"] == ws
    add_document(member, ws, "Second", "Another document.")
    page = member.get(f"/api/v1/workspaces/{ws}/documents", params={"limit": 1}).json()
    assert [item["title"] for item in page["items"]] == ["Second"]
    assert "content" not in page["items"][0]
    rest = member.get(
        f"/api/v1/workspaces/{ws}/documents", params={"cursor": page["next_cursor"]}
    ).json()
    assert [item["id"] for item in rest["items"]] == [body["id"]]
    assert rest["next_cursor"] is None


def test_title_and_body_match_ranks_above_a_single_mention(member: Account) -> None:
    ws = new_workspace(member)
    once = add_document(
        member,
        ws,
        "Weekly notes",
        "We reviewed budgets, deploys, on-call rotations, and the zeppelin project in passing, "
        "then moved on to hiring, capacity planning and the quarterly compliance report.",
    )
    strong = add_document(
        member,
        ws,
        "Zeppelin runbook",
        "The zeppelin service restarts itself; when zeppelin stalls, page the owner.",
    )
    add_document(member, ws, "Unrelated", "Nothing to see about airships here.")
    response = search(member, ws, "zeppelin")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query"] == "zeppelin"
    assert body["total"] == 2
    assert [item["document_id"] for item in body["items"]] == [strong, once]
    scores = [item["score"] for item in body["items"]]
    assert scores[0] > scores[1]
    for item in body["items"]:
        assert re.search(r"<mark>zeppelin</mark>", item["snippet"], re.I), item["snippet"]


def test_terms_are_stemmed_and_all_required(member: Account) -> None:
    ws = new_workspace(member)
    both = add_document(member, ws, "Rotations", "Rotating secrets weekly keeps auditors calm.")
    add_document(member, ws, "Secrets only", "Where secrets live.")
    body = search(member, ws, "rotate secret").json()
    assert [item["document_id"] for item in body["items"]] == [both]


def test_another_workspace_never_appears(member: Account, other_member: Account) -> None:
    mine = new_workspace(member)
    theirs = new_workspace(other_member)
    add_document(other_member, theirs, "Quokka census", "Quokka quokka quokka.")
    add_document(member, mine, "Wombat census", "Wombats only.")
    assert search(member, mine, "quokka").json()["total"] == 0
    assert search(member, theirs, "quokka").status_code == 404
    assert search(other_member, theirs, "quokka").json()["total"] == 1
    listing = member.get(f"/api/v1/workspaces/{theirs}/documents")
    assert listing.status_code == 404
    assert (
        member.post(
            f"/api/v1/workspaces/{theirs}/documents", json={"title": "x", "content": "y"}
        ).status_code
        == 404
    )


def test_repeated_search_is_cached_until_a_new_document(
    client: httpx.Client, member: Account
) -> None:
    ws = new_workspace(member)
    add_document(member, ws, "Narwhal one", "The narwhal tusk is a tooth.")
    hits_before = cache_counter(client, "hits")
    misses_before = cache_counter(client, "misses")
    first = search(member, ws, "narwhal").json()
    second = search(member, ws, "narwhal").json()
    assert first == second
    assert cache_counter(client, "misses") == misses_before + 1
    assert cache_counter(client, "hits") == hits_before + 1
    added = add_document(member, ws, "Narwhal two", "Another narwhal fact.")
    third = search(member, ws, "narwhal").json()
    assert third["total"] == 2
    assert added in {item["document_id"] for item in third["items"]}
    assert cache_counter(client, "misses") == misses_before + 2


@pytest.mark.parametrize(
    "query",
    ['"unbalanced', "NOT AND OR NEAR", "title:* ^", "***", "émigré café"],
    ids=["quote", "operators", "column-filter", "stars", "unicode"],
)
def test_query_syntax_is_never_obeyed(member: Account, query: str) -> None:
    ws = new_workspace(member)
    add_document(member, ws, "Anything", "Plain words and NOT much else, émigré.")
    response = search(member, ws, query)
    assert response.status_code == 200, response.text
    assert response.json()["query"] == query


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "ok", "limit": 0}, "limit"),
        ({"q": "ok", "limit": 101}, "limit"),
    ],
    ids=["missing", "empty", "too-long", "limit-zero", "limit-over"],
)
def test_bad_search_parameters_are_422(
    member: Account, params: dict[str, object], field: str
) -> None:
    ws = new_workspace(member)
    response = member.get(f"/api/v1/workspaces/{ws}/search", params=params)
    assert response.status_code == 422
    assert field in [detail["loc"][-1] for detail in response.json()["error"]["details"]]


def test_bad_document_bodies_are_422(member: Account) -> None:
    ws = new_workspace(member)
    url = f"/api/v1/workspaces/{ws}/documents"
    assert member.post(url, json={"title": "t"}).status_code == 422
    assert member.post(url, json={"title": "", "content": "c"}).status_code == 422
    assert member.post(url, json={"title": "t", "content": "c", "owner": "x"}).status_code == 422
    assert member.post(url, json={"title": "t", "content": "c", "tags": [""]}).status_code == 422


def test_knowledge_needs_a_key(client: httpx.Client, member: Account) -> None:
    ws = new_workspace(member)
    assert client.get(f"/api/v1/workspaces/{ws}/search", params={"q": "x"}).status_code == 401
    assert client.get(f"/api/v1/workspaces/{ws}/documents").status_code == 401


def test_cache_drops_only_the_workspace_that_changed() -> None:
    cache: SearchCache[str] = SearchCache(ttl_s=60)
    cache.put(("ws1", "q", 10), "one", cache.generation("ws1"))
    cache.put(("ws2", "q", 10), "two", cache.generation("ws2"))
    cache.invalidate_workspace("ws1")
    assert cache.get(("ws1", "q", 10)) is None
    assert cache.get(("ws2", "q", 10)) == "two"


def test_an_answer_computed_before_an_invalidation_is_not_cached() -> None:
    cache: SearchCache[str] = SearchCache(ttl_s=60)
    before = cache.generation("ws")
    cache.invalidate_workspace("ws")  # a document arrived while the search ran
    cache.put(("ws", "q", 10), "stale", before)
    assert cache.get(("ws", "q", 10)) is None
    cache.put(("ws", "q", 10), "fresh", cache.generation("ws"))
    assert cache.get(("ws", "q", 10)) == "fresh"
    stale_epoch = cache.generation("ws")
    cache.clear()
    cache.put(("ws", "q", 10), "stale", stale_epoch)
    assert cache.get(("ws", "q", 10)) is None


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: SearchCache[int] = SearchCache(ttl_s=60, max_entries=2)
    for i in range(2):
        cache.put(("ws", str(i), 10), i, cache.generation("ws"))
    assert cache.get(("ws", "0", 10)) == 0  # now the most recently used
    cache.put(("ws", "2", 10), 2, cache.generation("ws"))
    assert cache.get(("ws", "1", 10)) is None
    assert cache.get(("ws", "0", 10)) == 0
    assert cache.get(("ws", "2", 10)) == 2


def test_a_zero_ttl_disables_the_cache() -> None:
    cache: SearchCache[str] = SearchCache(ttl_s=0)
    cache.put(("ws", "q", 10), "x", cache.generation("ws"))
    assert cache.get(("ws", "q", 10)) is None
