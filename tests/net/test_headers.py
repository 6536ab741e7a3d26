"""Which request headers travel on to a backend."""

from __future__ import annotations

import pytest

from facade.net.headers import is_hop_by_hop, passed_on


@pytest.mark.parametrize(
    "name",
    ["Connection", "keep-alive", "Proxy-Authorization", "proxy-connection", "TE", "Trailer",
     "trailers", "Transfer-Encoding", "upgrade", "Host", "Content-Length"],
)  # fmt: skip
def test_hop_by_hop_names(name: str) -> None:
    assert is_hop_by_hop(name)


def test_only_allowed_and_never_hop_by_hop() -> None:
    sent = {"Authorization": "a", "X-User-Id": "u", "Cookie": "c", "Connection": "close"}
    assert passed_on(sent, ["authorization", "X-USER-ID", "connection", "x-absent"]) == {
        "authorization": "a",
        "x-user-id": "u",
    }
