"""Mapping files: every kind of mistake gets its own message naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from facade.errors import ConfigError, ConfigProblem
from facade.mapping.loader import discover, load_mappings, read_mapping, read_mappings
from facade.mapping.models import DEFAULT_TIMEOUT_SECONDS

VALID = """\
route:
  method: GET
  path: /v1/customers/{id}
legacy:
  wsdl: crm.wsdl
  operation: GetCustomer
  request:
    CustomerId: path.id
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, env: dict[str, str] | None = None) -> list[ConfigProblem]:
    with pytest.raises(ConfigError) as caught:
        read_mapping(path, env or {})
    assert all(problem.file == str(path) for problem in caught.value.problems)
    return caught.value.problems


def only_problem(path: Path, env: dict[str, str] | None = None) -> ConfigProblem:
    problems = problems_of(path, env)
    assert len(problems) == 1, problems
    return problems[0]


def with_legacy(extra: str) -> str:
    """VALID with more lines indented under `legacy:`."""
    return VALID + "".join(f"  {line}\n" for line in extra.splitlines())


# A valid file


def test_valid_mapping_with_defaults(tmp_path: Path) -> None:
    route = read_mapping(write(tmp_path, "get-customer.yaml", VALID), {})
    assert route.name == "get-customer"
    assert route.source == str(tmp_path / "get-customer.yaml")
    assert (route.method, route.path, route.status, route.mode) == (
        "GET",
        "/v1/customers/{id}",
        200,
        "legacy",
    )
    assert route.tags == ()
    legacy = route.legacy
    assert (legacy.wsdl, legacy.operation, legacy.service, legacy.port) == (
        "crm.wsdl",
        "GetCustomer",
        None,
        None,
    )
    assert legacy.timeout == DEFAULT_TIMEOUT_SECONDS
    assert legacy.request == {"CustomerId": "path.id"}
    assert (legacy.response, legacy.address, legacy.decimals) == (None, None, "string")
    assert legacy.faults == {}


def test_every_field_is_read(tmp_path: Path) -> None:
    text = """\
name: customer.one
route:
  method: post
  path: /v1/customers
  summary: Create
  description: Longer text
  tags: [customers, crm]
  status: 201
legacy:
  wsdl: crm.wsdl
  operation: CreateCustomer
  service: CrmService
  port: CrmServiceSoap
  address: http://crm.internal/crm
  timeout: 2.5
  request: {Customer: body}
  response: Customer
  faults: {CustomerNotFound: 404, Client: 400}
  decimals: number
migration:
  mode: legacy
"""
    route = read_mapping(write(tmp_path, "whatever.yaml", text), {})
    assert route.name == "customer.one"
    assert route.method == "POST"  # written in lower case, read in upper case
    assert (route.summary, route.description, route.tags, route.status) == (
        "Create",
        "Longer text",
        ("customers", "crm"),
        201,
    )
    legacy = route.legacy
    assert (legacy.service, legacy.port, legacy.address, legacy.timeout) == (
        "CrmService",
        "CrmServiceSoap",
        "http://crm.internal/crm",
        2.5,
    )
    assert legacy.faults == {"CustomerNotFound": 404, "Client": 400}
    assert (legacy.response, legacy.decimals) == ("Customer", "number")


# Finding files


def test_yml_and_nested_folders_are_found_in_a_stable_order(tmp_path: Path) -> None:
    write(tmp_path, "b.yaml", VALID.replace("/v1/customers/{id}", "/b"))
    write(tmp_path, "a/deeper/still/c.yml", VALID.replace("/v1/customers/{id}", "/c"))
    write(tmp_path, "a/d.yaml", VALID.replace("/v1/customers/{id}", "/d"))
    write(tmp_path, "notes.txt", "route: nonsense")
    write(tmp_path, "e.yaml.bak", "route: nonsense")
    (tmp_path / "folder.yaml").mkdir()
    found = discover(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "a/d.yaml",
        "a/deeper/still/c.yml",
        "b.yaml",
    ]
    routes = load_mappings(tmp_path, env={})
    assert [(r.name, r.path) for r in routes] == [("d", "/d"), ("c", "/c"), ("b", "/b")]


def test_name_is_the_file_stem_unless_given(tmp_path: Path) -> None:
    assert read_mapping(write(tmp_path, "list-orders.yml", VALID), {}).name == "list-orders"
    named = write(tmp_path, "x.yaml", "name: orders.list\n" + VALID)
    assert read_mapping(named, {}).name == "orders.list"


@pytest.mark.parametrize("name", ["Orders", "-orders", "orders list", ""])
def test_a_given_name_must_be_lower_case_words(tmp_path: Path, name: str) -> None:
    problem = only_problem(write(tmp_path, "x.yaml", f"name: '{name}'\n" + VALID))
    assert problem.field == "name"
    assert "pattern" in problem.message


def test_not_a_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = read_mappings(missing, env={})
    assert result.routes == []
    assert result.problems == [
        ConfigProblem(str(missing), "", "is not a folder of mapping files (see --mappings)")
    ]
    a_file = write(tmp_path, "file.yaml", VALID)
    with pytest.raises(ConfigError, match="is not a folder of mapping files"):
        load_mappings(a_file, env={})


def test_empty_folder_has_no_routes_and_no_problems(tmp_path: Path) -> None:
    assert load_mappings(tmp_path, env={}) == []


def test_good_files_load_and_every_bad_file_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "good.yaml", VALID)
    write(tmp_path, "bad/empty.yaml", "")
    write(tmp_path, "bad/timeout.yaml", with_legacy("timeout: 0"))
    result = read_mappings(tmp_path, env={})
    assert [r.name for r in result.routes] == ["good"]
    assert [(Path(p.file).name, p.field) for p in result.problems] == [
        ("empty.yaml", ""),
        ("timeout.yaml", "legacy.timeout"),
    ]
    with pytest.raises(ConfigError) as caught:
        load_mappings(tmp_path, env={})
    assert caught.value.problems == result.problems
    assert str(caught.value).splitlines() == [str(p) for p in result.problems]


def test_problem_text_names_file_field_and_fix() -> None:
    problem = ConfigProblem("mappings/orders.yaml", "legacy.timeout", "must be greater than 0")
    assert str(problem) == "mappings/orders.yaml: legacy.timeout: must be greater than 0"
    assert str(ConfigProblem("m.yaml", "", "is empty")) == "m.yaml: is empty"


# The YAML itself


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken.yaml", "route:\n  method: GET\n  path: [/x\nlegacy: {}\n")
    problem = only_problem(path)
    assert problem.field == ""
    assert problem.message.startswith("is not valid YAML at line 4, column ")
    assert str(problem).startswith(f"{path}: is not valid YAML at line 4")


def test_tab_indentation_is_invalid_yaml(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, "tabs.yaml", "route:\n\tmethod: GET\n"))
    assert problem.message.startswith("is not valid YAML at line 2")


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n", "---\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    problem = only_problem(write(tmp_path, "empty.yaml", text))
    assert problem.message == "is empty; a mapping needs route and legacy"


@pytest.mark.parametrize("text", ["- route\n- legacy\n", "just words\n", "42\n"])
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str) -> None:
    problem = only_problem(write(tmp_path, "list.yaml", text))
    assert problem.message == "must be a YAML mapping with keys route and legacy"


def test_top_level_key_written_twice(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, "twice.yaml", VALID + "route:\n  method: PUT\n"))
    assert problem.message == "is not valid YAML at line 9, column 1: key 'route' is written twice"


def test_nested_key_written_twice(tmp_path: Path) -> None:
    text = VALID.replace("  wsdl: crm.wsdl\n", "  wsdl: crm.wsdl\n  wsdl: erp.wsdl\n")
    problem = only_problem(write(tmp_path, "twice.yaml", text))
    assert problem.message == "is not valid YAML at line 6, column 3: key 'wsdl' is written twice"


def test_key_written_twice_in_a_flow_mapping(tmp_path: Path) -> None:
    text = with_legacy("faults: {A: 404, A: 410}")
    problem = only_problem(write(tmp_path, "twice.yaml", text))
    assert "key 'A' is written twice" in problem.message
    assert "line 9" in problem.message


def test_unhashable_key_is_a_yaml_problem_not_a_crash(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, "odd.yaml", "? [a, b]\n: 1\n" + VALID))
    assert problem.message == "is not valid YAML at line 1, column 3: found unhashable key"


def test_unreadable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("route: caf\xe9\n".encode("latin-1"))
    assert only_problem(path).message.startswith("cannot be read: ")


# Keys and values


@pytest.mark.parametrize(
    ("text", "field", "allowed"),
    [
        (VALID + "colour: red\n", "colour", ["name", "route", "legacy", "migration"]),
        (VALID.replace("  method: GET", "  verb: GET\n  method: GET"), "route.verb", ["method"]),
        (with_legacy("opration: GetCustomer"), "legacy.opration", ["operation", "timeout"]),
        (VALID + "migration:\n  percentage: 5\n", "migration.percentage", ["mode", "percent"]),
    ],
)
def test_unknown_key_lists_allowed_keys(
    tmp_path: Path, text: str, field: str, allowed: list[str]
) -> None:
    problem = only_problem(write(tmp_path, "extra.yaml", text))
    assert problem.field == field
    assert problem.message.startswith("unknown key; allowed here: ")
    listed = problem.message.removeprefix("unknown key; allowed here: ").split(", ")
    assert set(allowed) <= set(listed)


def test_missing_required_keys_are_all_reported(tmp_path: Path) -> None:
    text = "route:\n  method: GET\nlegacy:\n  wsdl: crm.wsdl\n"
    problems = problems_of(write(tmp_path, "short.yaml", text))
    assert [(p.field, p.message) for p in problems] == [
        ("route.path", "is required"),
        ("legacy.operation", "is required"),
    ]


def test_missing_sections(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, "bare.yaml", "name: bare\n"))
    assert [(p.field, p.message) for p in problems] == [
        ("route", "is required"),
        ("legacy", "is required"),
    ]


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (with_legacy("timeout: soon"), "legacy.timeout", "valid number"),
        (VALID.replace("  path:", "  tags: 5\n  path:"), "route.tags", "valid tuple"),
        (VALID.replace("  path:", "  status: ok\n  path:"), "route.status", "valid integer"),
        (
            VALID.replace("  request:\n    CustomerId: path.id\n", "  request: [path.id]\n"),
            "legacy.request",
            "valid dictionary",
        ),
        (with_legacy("faults: {X: many}"), "legacy.faults.X", "valid integer"),
        ("route: GET /x\nlegacy:\n  wsdl: a\n  operation: b\n", "route", "valid dictionary"),
        (VALID.replace("wsdl: crm.wsdl", "wsdl: [crm.wsdl]"), "legacy.wsdl", "valid string"),
    ],
)
def test_wrong_type(tmp_path: Path, text: str, field: str, words: str) -> None:
    problem = only_problem(write(tmp_path, "typed.yaml", text))
    assert problem.field == field
    assert words in problem.message


@pytest.mark.parametrize("method", ["FETCH", "get it", "HEAD"])
def test_bad_method(tmp_path: Path, method: str) -> None:
    problem = only_problem(write(tmp_path, "m.yaml", VALID.replace("GET", method)))
    assert problem.field == "route.method"
    assert problem.message == (
        f"is {method.upper()!r}; expected one of 'GET', 'POST', 'PUT', 'PATCH' or 'DELETE'"
    )


def test_method_must_be_text(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, "m.yaml", VALID.replace("method: GET", "method: 7")))
    assert problem.field == "route.method"


@pytest.mark.parametrize(
    "path",
    [
        "v1/customers",
        "/v1/customers/",
        "//v1",
        "/v1/{id",
        "/v1/id}",
        "/v1/cust{id}",
        "/v1/{id}.json",
        "/v1/{1d}",
        "/v1/a b",
        "/v1/customers?x=1",
        "",
    ],
)
def test_bad_path_shape(tmp_path: Path, path: str) -> None:
    text = VALID.replace("/v1/customers/{id}", f"'{path}'").replace("path.id", "query.id")
    problem = only_problem(write(tmp_path, "p.yaml", text))
    assert problem.field == "route.path"
    assert problem.message.startswith("must start with '/' and hold plain segments")


@pytest.mark.parametrize("path", ["/", "/v1", "/v1/{id}", "/v1.2/a-b_c~d/{x_1}/{Y}"])
def test_good_path_shapes(tmp_path: Path, path: str) -> None:
    text = VALID.replace("/v1/customers/{id}", f"'{path}'")
    assert read_mapping(write(tmp_path, "p.yaml", text), {}).path == path


def test_duplicate_path_parameter(tmp_path: Path) -> None:
    text = VALID.replace("/v1/customers/{id}", "/v1/customers/{id}/orders/{id}")
    problem = only_problem(write(tmp_path, "p.yaml", text))
    assert (problem.field, problem.message) == ("route.path", "names the same path parameter twice")


@pytest.mark.parametrize("status", [399, 600, 200, 302, -404])
def test_fault_status_outside_400_599(tmp_path: Path, status: int) -> None:
    problem = only_problem(write(tmp_path, "f.yaml", with_legacy(f"faults: {{Gone: {status}}}")))
    assert problem.field == "legacy.faults"
    assert problem.message == f"status {status} for 'Gone' must be between 400 and 599"


def test_fault_status_bounds_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, "f.yaml", with_legacy("faults: {A: 400, B: 599}"))
    assert read_mapping(path, {}).legacy.faults == {"A": 400, "B": 599}


@pytest.mark.parametrize("status", [100, 301, 404])
def test_success_status_must_be_2xx(tmp_path: Path, status: int) -> None:
    text = VALID.replace("  path:", f"  status: {status}\n  path:")
    assert only_problem(write(tmp_path, "s.yaml", text)).field == "route.status"


@pytest.mark.parametrize(
    ("timeout", "message"),
    [
        ("0", "Input should be greater than 0"),
        ("-1.5", "Input should be greater than 0"),
        ("601", "Input should be less than or equal to 600"),
    ],
)
def test_timeout_must_be_positive_and_bounded(tmp_path: Path, timeout: str, message: str) -> None:
    problem = only_problem(write(tmp_path, "t.yaml", with_legacy(f"timeout: {timeout}")))
    assert (problem.field, problem.message) == ("legacy.timeout", message)


def test_small_timeout_is_fine(tmp_path: Path) -> None:
    route = read_mapping(write(tmp_path, "t.yaml", with_legacy("timeout: 0.2")), {})
    assert route.legacy.timeout == 0.2


@pytest.mark.parametrize("mode", ["sideways", "LEGACY", "canary-ish"])
def test_unknown_migration_mode(tmp_path: Path, mode: str) -> None:
    problem = only_problem(write(tmp_path, "m.yaml", VALID + f"migration:\n  mode: {mode}\n"))
    assert problem.field == "migration.mode"
    assert problem.message.startswith(f"is {mode!r}; expected one of ")
    assert "'legacy'" in problem.message


def test_unknown_decimals_style(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, "d.yaml", with_legacy("decimals: float")))
    assert problem.field == "legacy.decimals"
    assert problem.message == "is 'float'; expected one of 'string' or 'number'"


def test_several_problems_in_one_file_are_reported_together(tmp_path: Path) -> None:
    text = VALID.replace("GET", "FETCH") + "  timeout: 0\n  faults: {X: 200}\nextra: 1\n"
    fields = [p.field for p in problems_of(write(tmp_path, "many.yaml", text))]
    assert sorted(fields) == ["extra", "legacy.faults", "legacy.timeout", "route.method"]


# Environment variables


def test_env_variables_expand_in_values(tmp_path: Path) -> None:
    path = write(tmp_path, "e.yaml", with_legacy("address: ${CRM_URL}/crm\ntimeout: ${T}"))
    route = read_mapping(path, {"CRM_URL": "http://crm.internal:8080", "T": "3"})
    assert route.legacy.address == "http://crm.internal:8080/crm"
    assert route.legacy.timeout == 3.0


def test_missing_env_variable_names_the_field(tmp_path: Path) -> None:
    path = write(tmp_path, "e.yaml", with_legacy("address: ${CRM_URL}"))
    problem = only_problem(path)
    assert problem.field == "legacy.address"
    assert problem.message == (
        "environment variable CRM_URL is not set (set it, or give a default: ${CRM_URL:-value})"
    )


def test_env_default_and_escape(tmp_path: Path) -> None:
    text = with_legacy(
        "address: ${CRM_URL:-http://127.0.0.1:8081/crm}\nresponse: \"'$${literal}'\""
    )
    route = read_mapping(write(tmp_path, "e.yaml", text), {})
    assert route.legacy.address == "http://127.0.0.1:8081/crm"
    assert route.legacy.response == "'${literal}'"


def test_env_variables_do_not_expand_in_keys(tmp_path: Path) -> None:
    text = with_legacy("faults: {'${CODE}': 404}")
    route = read_mapping(write(tmp_path, "e.yaml", text), {"CODE": "Gone"})
    assert route.legacy.faults == {"${CODE}": 404}


def test_env_value_cannot_change_the_file_structure(tmp_path: Path) -> None:
    path = write(tmp_path, "e.yaml", with_legacy("address: ${CRM_URL}"))
    route = read_mapping(path, {"CRM_URL": "http://x\n  timeout: 0\ncolour: red"})
    assert route.legacy.address == "http://x\n  timeout: 0\ncolour: red"
    assert route.legacy.timeout == DEFAULT_TIMEOUT_SECONDS


def test_process_environment_is_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, "e.yaml", with_legacy("address: ${FACADE_TEST_CRM_URL}"))
    monkeypatch.setenv("FACADE_TEST_CRM_URL", "http://from-env/crm")
    assert load_mappings(tmp_path)[0].legacy.address == "http://from-env/crm"
    monkeypatch.delenv("FACADE_TEST_CRM_URL")
    with pytest.raises(ConfigError, match="FACADE_TEST_CRM_URL is not set"):
        load_mappings(tmp_path)
