"""`facade flags`: list, set, reset and audit the run-time flags of a running facade.

    facade flags list
    facade flags set get-customer canary --percent 10 --reason "ticket 42"
    facade flags set --all legacy --reason "incident 7"      # the kill switch
    facade flags reset get-customer
    facade flags history get-customer

Each talks to the facade's admin API (--url, --token or $FACADE_ADMIN_TOKEN) and exits 1
with one line saying why on every refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import orjson
import typer

from facade.admin.client import AdminError, admin_call
from facade.admin.routes import FLAGS_PATH, HISTORY_PATH, KILL_PATH

flags_app = typer.Typer(
    help="Flip routes between legacy, shadow, canary and new while the facade runs.",
    no_args_is_help=True,
)

UrlOption = Annotated[str, typer.Option(help="Base URL of the running facade.")]
TokenOption = Annotated[
    str | None,
    typer.Option(
        envvar="FACADE_ADMIN_TOKEN",
        help="An admin token of the facade (its name is recorded in the audit).",
        show_default=False,  # never echo a token
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the admin API's answer.")]
DEFAULT_URL = "http://127.0.0.1:8080"


def _call(
    command: str,
    method: str,
    url: str,
    path: str,
    token: str | None,
    body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    try:
        return admin_call(method, url, path, token, body, params)
    except AdminError as exc:
        typer.secho(f"facade flags {command}: {exc}", err=True, fg=typer.colors.RED)
        raise typer.Exit(1) from exc


@flags_app.command("list")
def list_flags(
    url: UrlOption = DEFAULT_URL, token: TokenOption = None, as_json: JsonOption = False
) -> None:
    """Each route's declared and effective mode, and the override behind it."""
    document = _call("list", "GET", url, FLAGS_PATH, token)
    if as_json:
        _print_json(document)
        return
    rows = [("ROUTE", "DECLARED", "EFFECTIVE", "BY", "REASON")]
    for route in document["routes"]:
        override = route.get("override") or {}
        by = override.get("who", "")  # `facade` for its own flips (guard trips, ramp steps)
        rows.append(
            (
                route["name"],
                cell(route["declared"]),
                cell(route["effective"]),
                by or "-",
                override.get("reason") or "-",
            )
        )
    for line in aligned(rows):
        typer.echo(line)
    problem = document.get("state", {}).get("problem")
    if problem:
        typer.secho(f"warning: {problem}", err=True, fg=typer.colors.YELLOW)


@flags_app.command("set")
def set_flag(
    route: Annotated[str | None, typer.Argument(help="The route's name.")] = None,
    mode: Annotated[str | None, typer.Argument(help="legacy, shadow, canary or new.")] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every route at once (legacy only: the kill switch).")
    ] = False,
    percent: Annotated[
        float | None, typer.Option(help="Mode canary: the share of callers sent to new.")
    ] = None,
    reason: Annotated[str, typer.Option(help="Why: kept in the audit.")] = "",
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Flip one route (or, with --all legacy, every route) from the next request on."""
    if every:
        _kill(route, mode, reason, url, token)
        return
    if route is None or mode is None:
        _usage("set", "give a ROUTE and a MODE, or --all legacy")
    body: dict[str, Any] = {"mode": mode, "reason": reason}
    if percent is not None:
        body["percent"] = percent
    answer = _call("set", "PUT", url, f"{FLAGS_PATH}/{route}", token, body)
    typer.echo(f"{answer['name']}: {setting(answer['effective'])}")


def _kill(route: str | None, mode: str | None, reason: str, url: str, token: str | None) -> None:
    # `set --all legacy`: the one mode has landed in ROUTE's place
    chosen = mode or route
    if chosen != "legacy" or (route is not None and mode is not None):
        _usage("set", "--all takes the mode legacy only: `facade flags set --all legacy`")
    answer = _call("set", "POST", url, KILL_PATH, token, {"reason": reason})
    moved = answer["moved"]
    typer.echo(
        f"every route on legacy ({len(moved)} moved{': ' if moved else ''}{', '.join(moved)})"
    )


@flags_app.command("reset")
def reset_flag(
    route: Annotated[str, typer.Argument(help="The route's name.")],
    reason: Annotated[str, typer.Option(help="Why: kept in the audit.")] = "",
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
) -> None:
    """Back to the mode the route's mapping file declares."""
    answer = _call("reset", "POST", url, f"{FLAGS_PATH}/{route}/reset", token, {"reason": reason})
    typer.echo(f"{answer['name']}: {setting(answer['effective'])} (as declared)")


@flags_app.command("history")
def history(
    route: Annotated[str | None, typer.Argument(help="Only this route's flips.")] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """The audit of flips, oldest first: when, who, route, from, to, reason."""
    params = {"route": route} if route else None
    document = _call("history", "GET", url, HISTORY_PATH, token, params=params)
    if as_json:
        _print_json(document)
        return
    rows = [("WHEN", "WHO", "ROUTE", "FROM", "TO", "REASON")]
    for entry in document["entries"]:
        who = entry["who"]  # `facade` for an automatic flip
        before = {"mode": entry["from"], "percent": entry["from_percent"]}
        after = {"mode": entry["to"], "percent": entry["percent"]}
        rows.append(
            (entry["when"], who, entry["route"], cell(before), cell(after), entry["reason"])
        )
    for line in aligned(rows):
        typer.echo(line)


def setting(value: dict[str, Any]) -> str:
    """`canary 10%`, or the mode alone."""
    return f"canary {value['percent']:g}%" if value["mode"] == "canary" else str(value["mode"])


def cell(value: dict[str, Any]) -> str:
    """The setting in a table cell, without a space: `canary:10%`."""
    return setting(value).replace(" ", ":")


def aligned(rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


def _usage(command: str, message: str) -> None:
    typer.secho(f"facade flags {command}: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(2)


def _print_json(document: dict[str, Any]) -> None:
    typer.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
