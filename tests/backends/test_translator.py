"""The translator process: same answers as the loop, errors that cross, a child that dies."""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
import yaml
from lxml import etree
from wsdls import SOAP11_ENV, envelope

from facade.backends import translator as translator_process
from facade.backends.translator import OFF_LOOP_BYTES, LoopTranslator, ProcessTranslator
from facade.errors import BackendTimeout, SoapFault
from facade.mapping.loader import load_mappings
from facade.net import Deadline, Reply
from facade.routetable import CompiledRoute, build_route_table
from facade.settings import Settings
from facade.soap.registry import WsdlRegistry
from facade.sources import build_from_folders, fingerprint
from facade.translate.reader import Declined

ROOT = Path(__file__).resolve().parent.parent.parent
CRM = "http://example.com/crm"
XML = {"content-type": "text/xml; charset=utf-8"}
SEARCH = {
    "route": {"method": "GET", "path": "/v1/customers"},
    "legacy": {
        "wsdl": "crm.wsdl",
        "operation": "SearchCustomers",
        "address": "http://crm.internal/crm",
        "request": {"Name": "query.name"},
        "response": "{total: Total, names: Customers.Customer[].Name}",
        "faults": {"SearchTooBroad": 422},
    },
}


def big_reply(count: int = 1000) -> Reply:
    reply = search_reply(count)
    assert len(reply.content) > OFF_LOOP_BYTES
    return reply


def search_reply(count: int) -> Reply:
    customers = "".join(
        f"<c:Customer><c:Id>{i}</c:Id><c:Name>Customer {i}</c:Name><c:Status>active</c:Status>"
        f"<c:Balance>{i}.50</c:Balance><c:CreatedAt>2019-03-14T09:26:53Z</c:CreatedAt>"
        "<c:Address><c:Street>s</c:Street><c:City>c</c:City><c:PostalCode>p</c:PostalCode>"
        "<c:Country>GB</c:Country></c:Address></c:Customer>"
        for i in range(count)
    )
    body = (
        f'<c:SearchCustomersResponse xmlns:c="{CRM}"><c:Customers>{customers}</c:Customers>'
        f"<c:Total>{count}</c:Total></c:SearchCustomersResponse>"
    )
    return Reply(200, XML, envelope(body).encode())


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("mappings")
    (folder / "search-customers.yaml").write_text(yaml.safe_dump(SEARCH), encoding="utf-8")
    return Settings(mappings_dir=folder, wsdl_dir=ROOT / "wsdl")


@pytest.fixture(scope="module")
def route(settings: Settings) -> CompiledRoute:
    [route] = build_route_table(load_mappings(settings.mappings_dir), WsdlRegistry(ROOT / "wsdl"))
    return route


async def in_child(settings: Settings, route: CompiledRoute, *replies: Reply) -> list[bytes]:
    translator = ProcessTranslator(settings)
    await translator.start()
    try:
        return [await translator.translate(route, reply, Deadline.after(30)) for reply in replies]
    finally:
        await translator.aclose()


def test_child_gives_the_bytes_the_loop_gives(settings: Settings, route: CompiledRoute) -> None:
    reply = big_reply()
    [child] = asyncio.run(in_child(settings, route, reply))
    on_loop = asyncio.run(LoopTranslator().translate(route, reply, Deadline.after(30)))
    assert child == on_loop
    assert orjson.loads(child)["total"] == 1000


def test_fault_in_a_large_reply_crosses_back_whole(
    settings: Settings, route: CompiledRoute
) -> None:
    padding = "x" * (OFF_LOOP_BYTES + 10)
    fault = (
        f'<s:Fault xmlns:s="{SOAP11_ENV}"><faultcode>s:Client</faultcode>'
        f"<faultstring>too broad {padding}</faultstring>"
        f'<detail><c:SearchTooBroad xmlns:c="{CRM}"/></detail></s:Fault>'
    )
    reply = Reply(500, XML, envelope(fault).encode())
    with pytest.raises(SoapFault) as caught:
        asyncio.run(in_child(settings, route, reply))
    error = caught.value
    assert (error.status, error.code, error.mapped) == (422, "Client", True)
    assert error.extensions()["fault"]["message"].startswith("too broad")


def test_a_dead_child_is_replaced_and_no_answer_is_lost(
    settings: Settings, route: CompiledRoute
) -> None:
    def children(translator: ProcessTranslator) -> set[int]:
        assert translator._pool is not None
        return set(translator._pool._processes or {})

    async def run() -> list[bytes]:
        translator = ProcessTranslator(settings)
        await translator.start()
        try:
            first = await translator.translate(route, big_reply(), Deadline.after(30))
            killed = children(translator)
            for pid in killed:
                os.kill(pid, signal.SIGKILL)
            await asyncio.sleep(0.5)
            # answered on the loop while a new child starts in the background
            second = await translator.translate(route, big_reply(), Deadline.after(30))
            assert translator._restarting is not None
            await translator._restarting
            third = await translator.translate(route, big_reply(), Deadline.after(30))
            replacement = children(translator)
            assert replacement and not replacement & killed  # a new child answered
            return [first, second, third]
        finally:
            await translator.aclose()

    first, second, third = asyncio.run(run())
    assert first == second == third


def test_a_route_of_another_configuration_is_translated_on_the_loop(
    settings: Settings, route: CompiledRoute
) -> None:
    """The child holds the routes of the files it loaded; a reply of a route compiled from
    other files (before or after a reload) never goes to it. The child is killed first: a
    reply sent to it would find it dead and start a replacement."""

    async def run() -> bytes:
        translator = ProcessTranslator(settings)
        await translator.start()
        try:
            assert translator._loaded == fingerprint(settings.mappings_dir, settings.wsdl_dir)
            assert translator._pool is not None
            for pid in set(translator._pool._processes or {}):
                os.kill(pid, signal.SIGKILL)
            encoded = await translator.translate(route, big_reply(), Deadline.after(30), "other")
            assert translator._restarting is None  # the dead child was not asked
            return encoded
        finally:
            await translator.aclose()

    assert orjson.loads(asyncio.run(run()))["total"] == 1000


def test_reconfigure_starts_a_child_on_the_new_files(tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    file = folder / "search-customers.yaml"
    file.write_text(yaml.safe_dump(SEARCH), encoding="utf-8")
    settings = Settings(mappings_dir=folder, wsdl_dir=ROOT / "wsdl")
    edited = {**SEARCH, "legacy": {**SEARCH["legacy"], "response": "{count: Total}"}}

    async def run() -> tuple[bytes, bytes]:
        translator = ProcessTranslator(settings)
        await translator.start()
        try:
            first = translator._loaded
            file.write_text(yaml.safe_dump(edited), encoding="utf-8")
            built = build_from_folders(folder, ROOT / "wsdl")
            translator.reconfigure(built.version)
            assert translator._restarting is None  # no reply has needed a child yet
            [route] = built.table
            deadline = Deadline.after(30)
            await translator.translate(route, search_reply(1), deadline, built.version)
            assert translator._restarting is None  # a small reply never needs a child
            on_loop = await translator.translate(route, big_reply(), deadline, built.version)
            restarting = translator._restarting
            assert restarting is not None  # the first large reply started one
            await translator.translate(route, big_reply(), deadline, built.version)
            assert translator._restarting is restarting  # once per configuration
            await restarting
            assert translator._loaded == built.version != first
            in_child = await translator.translate(route, big_reply(), deadline, built.version)
            return in_child, on_loop
        finally:
            await translator.aclose()

    in_child, on_loop = asyncio.run(run())
    assert in_child == on_loop
    assert orjson.loads(in_child) == {"count": 1000}


def test_translation_waits_no_longer_than_the_deadline(
    settings: Settings, route: CompiledRoute
) -> None:
    """Ten large replies queue for one child; a call whose deadline is already spent gets
    a 504 instead of waiting its turn."""

    async def run() -> None:
        translator = ProcessTranslator(settings)
        await translator.start()
        try:
            queued = [
                asyncio.ensure_future(translator.translate(route, big_reply(), Deadline.after(30)))
                for _ in range(10)
            ]
            with pytest.raises(BackendTimeout):
                await translator.translate(route, big_reply(), Deadline.after(0.01))
            assert len({await answer for answer in queued}) == 1
        finally:
            await translator.aclose()

    asyncio.run(run())


def test_without_a_child_replies_are_translated_on_the_loop(
    tmp_path: Path, route: CompiledRoute, caplog: pytest.LogCaptureFixture
) -> None:
    """The child cannot load its mappings (the folder went away): the failure is logged,
    and the worker translates on its loop."""
    broken = Settings(mappings_dir=tmp_path / "gone", wsdl_dir=tmp_path)

    async def run() -> bytes:
        translator = ProcessTranslator(broken)
        await translator.start()
        assert translator._pool is None
        return await translator.translate(route, big_reply(), Deadline.after(30))

    assert orjson.loads(asyncio.run(run()))["total"] == 1000
    assert "did not start" in caplog.text


CHILD_OF_A_SERVER = """
import asyncio, sys
from pathlib import Path
from facade.backends.translator import ProcessTranslator
from facade.settings import Settings

async def main():
    settings = Settings(mappings_dir=Path(sys.argv[1]), wsdl_dir=Path(sys.argv[2]))
    translator = ProcessTranslator(settings)
    await translator.start()
    print(*translator._pool._processes, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_the_child_ends_when_its_server_is_killed(settings: Settings) -> None:
    """A server that is SIGKILLed cannot stop its child; the child notices and ends."""
    server = subprocess.Popen(
        [sys.executable, "-c", CHILD_OF_A_SERVER, str(settings.mappings_dir), str(ROOT / "wsdl")],
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        [child] = [int(pid) for pid in server.stdout.readline().split()]
        assert _alive(child)
    finally:
        server.kill()
        server.wait()
        if server.stdout is not None:
            server.stdout.close()
    for _ in range(100):  # bounded: 10 s
        if not _alive(child):
            break
        time.sleep(0.1)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie has ended but is not yet reaped by whoever adopted it
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_the_loop_reads_with_the_compiled_reader_as_zeep_would(route: CompiledRoute) -> None:
    assert route.reader is not None
    reply = big_reply()
    compiled = asyncio.run(LoopTranslator().translate(route, reply, Deadline.after(30)))
    by_zeep = asyncio.run(
        LoopTranslator().translate(replace(route, reader=None), reply, Deadline.after(30))
    )
    assert compiled == by_zeep


def test_a_reply_the_reader_declines_is_read_by_zeep(route: CompiledRoute) -> None:
    xsi = 'xmlns:i="http://www.w3.org/2001/XMLSchema-instance" i:type="c:ArrayOfCustomer"'
    content = big_reply().content.replace(b"<c:Customers>", f"<c:Customers {xsi}>".encode())
    reply = Reply(200, XML, content)
    assert route.reader is not None
    with pytest.raises(Declined):
        route.reader.read_body(etree.fromstring(content)[0])
    answer = asyncio.run(LoopTranslator().translate(route, reply, Deadline.after(30)))
    assert orjson.loads(answer)["names"][:2] == ["Customer 0", "Customer 1"]


def test_the_child_compiles_the_readers_too(settings: Settings) -> None:
    try:
        translator_process._load(settings)
        assert [r.reader is not None for r in translator_process._routes.values()] == [True]
    finally:
        translator_process._routes.clear()


def child_niceness(settings: Settings) -> int:
    """How much nicer than this process the child a ProcessTranslator starts runs."""

    async def run() -> int:
        translator = ProcessTranslator(settings)
        await translator.start()
        try:
            assert translator._pool is not None
            [pid] = translator._pool._processes or {}
            return os.getpriority(os.PRIO_PROCESS, pid) - os.getpriority(os.PRIO_PROCESS, 0)
        finally:
            await translator.aclose()

    return asyncio.run(run())


def test_the_child_freezes_the_routes_it_loaded(settings: Settings) -> None:
    """Out of the collector's sweeps: a large reply's new objects would otherwise set off
    full collections that walk every schema object the child loaded."""

    async def run() -> int:
        translator = ProcessTranslator(settings)
        await translator.start()
        try:
            assert translator._pool is not None
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(translator._pool, gc.get_freeze_count)
        finally:
            await translator.aclose()

    assert asyncio.run(run()) > 10_000


@pytest.mark.parametrize("nice", [0, 7])
def test_the_child_runs_at_a_lower_priority_than_its_server(settings: Settings, nice: int) -> None:
    """The server's loop gets the CPU first; large replies take what it leaves."""
    assert os.getpriority(os.PRIO_PROCESS, 0) + nice <= 19  # room below this process
    assert child_niceness(replace(settings, translator_nice=nice)) == nice


def test_by_default_the_child_is_ten_steps_nicer(settings: Settings) -> None:
    assert settings.translator_nice == 10
    assert child_niceness(settings) == min(10, 19 - os.getpriority(os.PRIO_PROCESS, 0))


def test_the_child_hands_large_freed_blocks_back_where_libc_allows() -> None:
    """glibc takes the fixed threshold; elsewhere the call answers False, never raises.
    Run in a process of its own: it changes how that process allocates."""
    code = "from facade.backends import translator; print(translator._large_blocks_to_the_system())"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()
    assert done == str(platform.libc_ver()[0] == "glibc")
