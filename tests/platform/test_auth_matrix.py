"""The auth matrix, built from the live `/openapi.json` so that a new route cannot escape it.

Every operation with a path parameter is called, with real ids that its owner created through the
API, as: anonymous and with bad keys (401), another tenant and the admin (404 on tenant-owned ids,
never 2xx), the owner (2xx, so the 404s above are about tenancy and not about bad input), a member
on admin routes (403), the admin on admin routes (2xx), and a disabled account (401 from its next
request on). A path parameter, request body or required query parameter that the tables below do
not know fails the test by name: nothing is silently skipped.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from platform_accounts import Account, register
from platform_server import NO_FAULTS, PlatformServer

PUBLIC = frozenset(
    {
        ("GET", "/health"),
        ("GET", "/health/ready"),
        ("GET", "/metrics"),
        ("POST", "/api/v1/auth/register"),
    }
)
ADMIN_PREFIX = "/api/v1/admin/"
BAD_AUTHORIZATIONS = (None, "Bearer plk_not-a-real-key", "Basic dXNlcjpwYXNz", "Bearer")
WORKFLOW = {
    "name": "matrix",
    "steps": [{"type": "transform", "name": "shout", "operation": "uppercase"}],
}


@dataclass(frozen=True)
class Inputs:
    json: Any = None
    params: dict[str, str] = field(default_factory=dict)


def _new_user() -> Inputs:
    email = f"matrix-{uuid.uuid4().hex[:10]}@example.com"
    return Inputs(json={"email": email, "name": "Made by admin", "role": "member"})


# A valid request for every operation that the matrix calls with the right to succeed.
INPUTS: dict[tuple[str, str], Callable[[], Inputs]] = {
    ("POST", "/api/v1/workspaces"): lambda: Inputs(json={"name": "matrix"}),
    ("PATCH", "/api/v1/workspaces/{workspace_id}"): lambda: Inputs(json={"name": "renamed"}),
    ("POST", "/api/v1/workspaces/{workspace_id}/workflows"): lambda: Inputs(json=WORKFLOW),
    ("PATCH", "/api/v1/workflows/{workflow_id}"): lambda: Inputs(json={"name": "renamed"}),
    ("POST", "/api/v1/workflows/{workflow_id}/executions"): lambda: Inputs(
        json={"input": {"text": "hello"}}
    ),
    ("POST", "/api/v1/workspaces/{workspace_id}/documents"): lambda: Inputs(
        json={"title": "Matrix", "content": "tenancy is checked here", "tags": ["auth"]}
    ),
    ("GET", "/api/v1/workspaces/{workspace_id}/search"): lambda: Inputs(params={"q": "tenancy"}),
    ("POST", "/api/v1/workspaces/{workspace_id}/projects/generate"): lambda: Inputs(
        json={"name": "demo", "template": "cli-tool", "files": 1}
    ),
    ("POST", "/api/v1/admin/users"): _new_user,
    ("PATCH", "/api/v1/admin/users/{user_id}"): lambda: Inputs(json={"role": "member"}),
    ("PUT", "/api/v1/admin/faults"): lambda: Inputs(json=NO_FAULTS),
    ("GET", "/api/v1/admin/costs"): lambda: Inputs(params={"group_by": "workspace"}),
}


def _created_id(response: httpx.Response) -> str:
    assert response.status_code in (201, 202), response.text
    return str(response.json()["id"])


class Resources:
    """One account's resources, one of each id kind, created through the API on first use."""

    def __init__(self, owner: Account) -> None:
        self.owner = owner
        self.ids: dict[str, str] = {}

    def id(self, kind: str) -> str:
        assert kind in ID_KINDS, f"no way to create a {{{kind}}}: add it to ID_KINDS"
        if kind not in self.ids:
            self.ids[kind] = ID_KINDS[kind].create(self)
        return self.ids[kind]

    def with_every_tenant_kind(self) -> Resources:
        """All of them now, before any stranger's call could remove one."""
        for kind, spec in ID_KINDS.items():
            if spec.tenant_owned:
                self.id(kind)
        return self

    def url(self, op: Operation) -> str:
        return op.path.format(**{name: self.id(name) for name in op.path_params})


@dataclass(frozen=True)
class IdKind:
    tenant_owned: bool
    create: Callable[[Resources], str]
    # The owner's own read of the resource, to prove that it is still there.
    read_path: str | None = None


def _workspace(res: Resources) -> str:
    return _created_id(res.owner.post("/api/v1/workspaces", json={"name": "owned"}))


def _workflow(res: Resources) -> str:
    url = f"/api/v1/workspaces/{res.id('workspace_id')}/workflows"
    return _created_id(res.owner.post(url, json=WORKFLOW))


def _execution(res: Resources) -> str:
    url = f"/api/v1/workflows/{res.id('workflow_id')}/executions"
    return _created_id(res.owner.post(url, json={"input": {"text": "hi"}}))


def _user(res: Resources) -> str:
    return register(res.owner.client).id


ID_KINDS: dict[str, IdKind] = {
    "workspace_id": IdKind(True, _workspace, "/api/v1/workspaces/{}"),
    "workflow_id": IdKind(True, _workflow, "/api/v1/workflows/{}"),
    "execution_id": IdKind(True, _execution, "/api/v1/executions/{}"),
    # Not owned by a tenant: admin targets and the shared, seeded datasets.
    "user_id": IdKind(False, _user),
    "run_id": IdKind(False, lambda _res: f"matrix-{uuid.uuid4().hex[:12]}"),
    "dataset_id": IdKind(False, lambda _res: "default"),
}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    path_params: tuple[str, ...]
    required_query: tuple[str, ...]
    body_required: bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.method, self.path)

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def is_admin(self) -> bool:
        return self.path.startswith(ADMIN_PREFIX)

    @property
    def tenant_owned(self) -> bool:
        return any(ID_KINDS[p].tenant_owned for p in self.path_params if p in ID_KINDS)

    def inputs(self) -> Inputs:
        factory = INPUTS.get(self.key)
        return factory() if factory else Inputs()

    def call(self, client: httpx.Client, url: str, authorization: str | None) -> httpx.Response:
        inputs = self.inputs()
        headers = {"Authorization": authorization} if authorization is not None else {}
        return client.request(
            self.method, url, json=inputs.json, params=inputs.params, headers=headers
        )


def parse_operations(schema: dict[str, Any]) -> list[Operation]:
    operations = []
    for path, item in schema["paths"].items():
        shared = item.get("parameters", [])
        for method, spec in item.items():
            if method == "parameters":
                continue
            params = [*shared, *spec.get("parameters", [])]
            operations.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    path_params=tuple(p["name"] for p in params if p["in"] == "path"),
                    required_query=tuple(
                        p["name"] for p in params if p["in"] == "query" and p.get("required")
                    ),
                    body_required=bool(spec.get("requestBody", {}).get("required")),
                )
            )
    return operations


@pytest.fixture(scope="module")
def operations(client: httpx.Client) -> list[Operation]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return parse_operations(response.json())


@pytest.fixture
def private_operations(operations: list[Operation]) -> list[Operation]:
    return [op for op in operations if op.key not in PUBLIC]


def bearer(account: Account) -> str:
    return f"Bearer {account.api_key}"


def ordered_for_owner(ops: list[Operation]) -> Iterator[Operation]:
    """Deletes last, so that the owner's other calls still find their resources."""
    yield from (op for op in ops if op.method != "DELETE")
    yield from (op for op in ops if op.method == "DELETE")


def test_every_public_operation_exists(operations: list[Operation]) -> None:
    assert {op.key for op in operations} >= PUBLIC


def test_every_path_parameter_is_a_known_id_kind(operations: list[Operation]) -> None:
    unknown = sorted(
        f"{op.name}: {{{param}}}"
        for op in operations
        for param in op.path_params
        if param not in ID_KINDS
    )
    assert not unknown, (
        "the auth matrix does not know how to create these ids; add them to ID_KINDS in "
        f"tests/platform/test_auth_matrix.py: {unknown}"
    )


def test_every_operation_called_with_rights_has_valid_inputs(operations: list[Operation]) -> None:
    missing = []
    for op in operations:
        if not (op.tenant_owned or op.is_admin):
            continue
        inputs = op.inputs()
        if op.body_required and inputs.json is None:
            missing.append(f"{op.name}: request body")
        missing.extend(
            f"{op.name}: query parameter {name}"
            for name in op.required_query
            if name not in inputs.params
        )
    assert not missing, (
        f"add valid inputs to INPUTS in tests/platform/test_auth_matrix.py for: {missing}"
    )


def test_anonymous_and_bad_keys_get_401(
    private_operations: list[Operation], member: Account
) -> None:
    resources = Resources(member)
    wrong = []
    for op in private_operations:
        url = resources.url(op)
        for authorization in BAD_AUTHORIZATIONS:
            response = op.call(member.client, url, authorization)
            if response.status_code != 401 or response.headers.get("www-authenticate") != "Bearer":
                wrong.append(f"{op.name} with {authorization!r}: {response.status_code}")
    assert private_operations
    assert not wrong, wrong


def test_public_operations_need_no_key(operations: list[Operation], client: httpx.Client) -> None:
    for op in operations:
        if op.key in PUBLIC and op.method == "GET":
            assert client.get(op.path).status_code == 200, op.name


def test_other_tenants_and_the_admin_get_404(
    operations: list[Operation], member: Account, other_member: Account, admin: Account
) -> None:
    tenant_ops = [op for op in operations if op.tenant_owned]
    resources = Resources(member).with_every_tenant_kind()
    wrong = []
    for op in tenant_ops:
        url = resources.url(op)
        for stranger in (other_member, admin):
            response = op.call(member.client, url, bearer(stranger))
            if response.status_code != 404:
                wrong.append(f"{op.name} as {stranger.user['role']}: {response.status_code}")
    assert tenant_ops
    assert not wrong, f"cross-tenant answers other than 404: {wrong}"
    for kind, owned_id in resources.ids.items():
        read_path = ID_KINDS[kind].read_path
        if read_path:
            assert member.get(read_path.format(owned_id)).status_code == 200, kind
    workspace = member.get(f"/api/v1/workspaces/{resources.id('workspace_id')}").json()
    assert workspace["name"] == "owned"


def test_lists_never_show_another_tenants_ids(
    private_operations: list[Operation], member: Account, other_member: Account
) -> None:
    resources = Resources(member).with_every_tenant_kind()
    lists = [
        op
        for op in private_operations
        if op.method == "GET" and not op.path_params and not op.is_admin
    ]
    for op in lists:
        response = op.call(member.client, op.path, bearer(other_member))
        assert response.status_code == 200, f"{op.name}: {response.status_code}"
        leaked = [kind for kind, value in resources.ids.items() if value in response.text]
        assert not leaked, f"{op.name} shows another tenant's {leaked}"
    assert lists


def test_the_owner_succeeds_where_strangers_get_404(
    operations: list[Operation], member: Account
) -> None:
    tenant_ops = [op for op in operations if op.tenant_owned]
    resources = Resources(member)
    wrong = []
    for op in ordered_for_owner(tenant_ops):
        # Each delete gets resources of its own, so that one delete cannot hide another.
        owned = Resources(member) if op.method == "DELETE" else resources
        response = op.call(member.client, owned.url(op), bearer(member))
        if not response.is_success:
            wrong.append(f"{op.name}: {response.status_code} {response.text[:200]}")
    assert tenant_ops
    assert not wrong, f"the owner was refused: {wrong}"


def test_admin_routes_answer_403_to_members_and_2xx_to_admins(
    operations: list[Operation], member: Account, admin: Account
) -> None:
    admin_ops = [op for op in operations if op.is_admin]
    assert admin_ops, "the schema lists no admin operation"
    resources = Resources(member)
    wrong = []
    for op in admin_ops:
        url = resources.url(op)
        refused = op.call(member.client, url, bearer(member))
        if refused.status_code != 403:
            wrong.append(f"{op.name} as member: {refused.status_code}")
    for op in ordered_for_owner(admin_ops):
        allowed = op.call(member.client, resources.url(op), bearer(admin))
        if not allowed.is_success:
            wrong.append(f"{op.name} as admin: {allowed.status_code} {allowed.text[:200]}")
    assert not wrong, wrong


def set_disabled(server: PlatformServer, account: Account, disabled: bool) -> None:
    response = account.client.patch(
        f"/api/v1/admin/users/{account.id}",
        json={"disabled": disabled},
        headers=server.admin_headers(),
    )
    assert response.status_code == 200, response.text
    assert response.json()["disabled"] is disabled


def test_a_disabled_account_is_refused_from_its_next_request(
    server: PlatformServer, client: httpx.Client, private_operations: list[Operation]
) -> None:
    account = register(client)
    resources = Resources(account)
    urls = {op.key: resources.url(op) for op in private_operations}
    assert account.get("/api/v1/auth/me").status_code == 200
    set_disabled(server, account, True)
    try:
        wrong = []
        for op in private_operations:
            response = op.call(account.client, urls[op.key], bearer(account))
            if response.status_code != 401:
                wrong.append(f"{op.name}: {response.status_code}")
        assert not wrong, f"a disabled account was served: {wrong}"
    finally:
        set_disabled(server, account, False)
    # Its refused deletes and updates changed nothing.
    for kind, owned_id in resources.ids.items():
        read_path = ID_KINDS[kind].read_path
        if read_path:
            assert account.get(read_path.format(owned_id)).status_code == 200, kind
