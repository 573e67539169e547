"""A minimal plugin for testing the framework without any real source."""

from __future__ import annotations

from pydantic import SecretStr

from core.plugin import (
    ConnectionBase,
    ConnectionTestError,
    Plugin,
    RemoteScope,
    RemoteScopePage,
    ScopeBase,
    TaskOptions,
)

GOOD_TOKEN = "fake-token-0123456789abcdef"


class FakeConnection(ConnectionBase):
    endpoint: str | None = "https://fake.example.com"
    token: SecretStr
    rate_limit_per_hour: int | None = 3600


class FakeScope(ScopeBase):
    url: str | None = None


class FakeOptions(TaskOptions):
    fail_in: str | None = None  # name of a subtask that should raise


class FakePlugin(Plugin):
    name = "fake"
    description = "test double"
    connection_model = FakeConnection
    scope_model = FakeScope
    options_model = FakeOptions

    def test_connection(self, connection: ConnectionBase) -> str:
        assert isinstance(connection, FakeConnection)
        if connection.token.get_secret_value() != GOOD_TOKEN:
            raise ConnectionTestError("fake: the token was rejected")
        return "connected"

    def remote_scopes(
        self, connection_id: int, connection: ConnectionBase, *, search: str | None, page_token: str | None
    ) -> RemoteScopePage:
        items = [RemoteScope(id=f"S{i}", name=f"service {i}") for i in range(3)]
        if search:
            items = [i for i in items if search in i.name]
        return RemoteScopePage(children=items)
