"""Administration of accounts (admins only, through `api.guards.require_admin`)."""

from __future__ import annotations

import uuid
from typing import Literal

import msgspec
from litestar import Controller, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.errors import problem_responses
from api.guards import require_admin
from everreach.accounts import Account, Accounts


class RoleChange(msgspec.Struct):
    role: Literal["user", "admin"]


class AdminController(Controller):
    path = "/v1/admin"
    tags = ["admin"]
    guards = [require_admin]

    @put(
        "/users/{user_id:uuid}/role",
        summary="Set an account's role",
        description=(
            "The account's earlier tokens stop working: it logs in again for the new role. "
            "The last admin cannot be demoted (409)."
        ),
        responses=problem_responses(400, 401, 403, 404, 409, 503),
    )
    async def set_role(
        self,
        accounts: NamedDependency[Accounts],
        user_id: FromPath[uuid.UUID],
        data: JSONBody[RoleChange],
    ) -> Account:
        return await accounts.set_role(user_id, data.role)
