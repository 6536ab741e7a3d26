"""Fresh request ids: unique within a process and between processes, 32 hex digits, and no
system call per request."""

from __future__ import annotations

import os
import re

from facade.observability import RequestIds, request_id_from

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def test_fresh_ids_are_32_hex_digits_and_never_repeat() -> None:
    ids = RequestIds()
    made = [ids() for _ in range(100_000)]
    assert all(HEX_ID.match(made_id) for made_id in made)
    assert len(set(made)) == len(made)


def test_two_processes_draw_different_ids() -> None:
    first, second = RequestIds(), RequestIds()
    assert {first() for _ in range(1000)}.isdisjoint({second() for _ in range(1000)})


def test_a_forked_child_draws_its_own_ids() -> None:
    ids = RequestIds()
    parent = [ids() for _ in range(3)]
    reading, writing = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.write(writing, "".join(ids() for _ in range(3)).encode())
        os._exit(0)
    os.close(writing)
    _, status = os.waitpid(pid, 0)
    sent = os.read(reading, 4096).decode()
    os.close(reading)
    assert status == 0
    child = [sent[i : i + 32] for i in range(0, len(sent), 32)]
    assert len(child) == 3
    assert {made[:16] for made in child} != {made[:16] for made in parent}
    assert set(child).isdisjoint(parent + [ids() for _ in range(3)])


def test_a_sane_client_id_is_kept_and_an_insane_one_replaced() -> None:
    assert request_id_from("client-id.42:a_b-c") == "client-id.42:a_b-c"
    assert HEX_ID.match(request_id_from("has spaces"))
    assert HEX_ID.match(request_id_from(None))
