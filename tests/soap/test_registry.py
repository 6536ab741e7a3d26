"""WSDLs load from local files only: bundled standard schemas, the catalog, clear refusals."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from facade.errors import ConfigError
from facade.soap.loader import BUNDLED_CATALOG, catalog_key, load_wsdl
from facade.soap.registry import WsdlRegistry

REMOTE_TYPES = "http://legacy.example.com/schemas/types.xsd"

WSDL_WITH_REMOTE_IMPORT = f"""<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:t="urn:types" xmlns:tns="urn:svc" targetNamespace="urn:svc">
  <types>
    <xs:schema targetNamespace="urn:svc">
      <xs:import namespace="urn:types" schemaLocation="{REMOTE_TYPES}"/>
      <xs:element name="Ping"><xs:complexType><xs:sequence>
        <xs:element name="Value" type="t:Code"/>
      </xs:sequence></xs:complexType></xs:element>
      <xs:element name="PingResponse"><xs:complexType><xs:sequence>
        <xs:element name="Value" type="t:Code"/>
      </xs:sequence></xs:complexType></xs:element>
    </xs:schema>
  </types>
  <message name="PingIn"><part name="parameters" element="tns:Ping"/></message>
  <message name="PingOut"><part name="parameters" element="tns:PingResponse"/></message>
  <portType name="P"><operation name="Ping">
    <input message="tns:PingIn"/><output message="tns:PingOut"/>
  </operation></portType>
  <binding name="B" type="tns:P">
    <soap:binding transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="Ping"><soap:operation soapAction="Ping"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation>
  </binding>
  <service name="S"><port name="SP" binding="tns:B">
    <soap:address location="http://127.0.0.1:9/svc"/>
  </port></service>
</definitions>
"""

TYPES_XSD = """<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:types">
  <xs:simpleType name="Code"><xs:restriction base="xs:string"/></xs:simpleType>
</xs:schema>
"""


def test_remote_import_without_catalog_entry_names_the_url_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / "svc.wsdl").write_text(WSDL_WITH_REMOTE_IMPORT)
    with pytest.raises(ConfigError) as caught:
        WsdlRegistry(tmp_path).get("svc.wsdl")
    message = str(caught.value)
    assert REMOTE_TYPES in message
    assert "catalog.yaml" in message


def test_catalog_maps_a_remote_import_to_a_local_copy(tmp_path: Path) -> None:
    (tmp_path / "svc.wsdl").write_text(WSDL_WITH_REMOTE_IMPORT)
    (tmp_path / "types.xsd").write_text(TYPES_XSD)
    (tmp_path / "catalog.yaml").write_text(f'"{REMOTE_TYPES}": types.xsd\n')
    loaded = WsdlRegistry(tmp_path).get("svc.wsdl")
    assert (tmp_path / "types.xsd").resolve() in loaded.documents


def test_broken_catalog_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "svc.wsdl").write_text(WSDL_WITH_REMOTE_IMPORT)
    (tmp_path / "catalog.yaml").write_text("- just a list\n")
    with pytest.raises(ConfigError, match="must map each remote URL"):
        WsdlRegistry(tmp_path).get("svc.wsdl")


def test_soap_encoding_import_resolves_to_the_bundled_copy(corpus: Path, tmp_path: Path) -> None:
    # this rpc/encoded WSDL imports http://schemas.xmlsoap.org/soap/encoding/ by URL
    loaded = load_wsdl(corpus / "misc" / "EVacSyncService_SPClient.wsdl")
    encoding = BUNDLED_CATALOG["http://schemas.xmlsoap.org/soap/encoding/"]
    assert encoding in loaded.documents


def test_relative_imports_load_from_neighbouring_files(corpus: Path, tmp_path: Path) -> None:
    for name in ("main.wsdl", "sub.wsdl", "xsd.xsd"):
        shutil.copy(corpus / "imports" / name, tmp_path / name)
    loaded = WsdlRegistry(tmp_path).get("main.wsdl")
    assert {p.name for p in loaded.documents} >= {"main.wsdl", "sub.wsdl", "xsd.xsd"}


def test_wsdl_20_is_refused_clearly(corpus: Path) -> None:
    with pytest.raises(ConfigError, match="WSDL 2.0"):
        load_wsdl(corpus / "wsdl20" / "wikipedia.wsdl")


def test_dtd_in_a_wsdl_is_refused(tmp_path: Path) -> None:
    evil = WSDL_WITH_REMOTE_IMPORT.replace(
        '<?xml version="1.0"?>',
        '<?xml version="1.0"?>\n<!DOCTYPE definitions [<!ENTITY x "boom">]>',
    )
    (tmp_path / "evil.wsdl").write_text(evil)
    with pytest.raises(ConfigError, match="declares a DTD"):
        load_wsdl(tmp_path / "evil.wsdl")


def test_missing_wsdl_lists_what_is_there(tmp_path: Path) -> None:
    (tmp_path / "present.wsdl").write_text(WSDL_WITH_REMOTE_IMPORT)
    with pytest.raises(ConfigError, match="available: present.wsdl"):
        WsdlRegistry(tmp_path).get("absent.wsdl")


def test_a_wsdl_outside_the_folder_is_refused(tmp_path: Path) -> None:
    inner = tmp_path / "wsdl"
    inner.mkdir()
    (tmp_path / "outside.wsdl").write_text(WSDL_WITH_REMOTE_IMPORT)
    with pytest.raises(ConfigError, match="inside"):
        WsdlRegistry(inner).get("../outside.wsdl")


def test_a_failed_load_is_remembered_not_retried(tmp_path: Path) -> None:
    (tmp_path / "svc.wsdl").write_text(WSDL_WITH_REMOTE_IMPORT)
    registry = WsdlRegistry(tmp_path)
    with pytest.raises(ConfigError) as first:
        registry.get("svc.wsdl")
    with pytest.raises(ConfigError) as second:
        registry.get("svc.wsdl")
    assert first.value is second.value


PLAIN_WSDL = WSDL_WITH_REMOTE_IMPORT.replace(
    f'<xs:import namespace="urn:types" schemaLocation="{REMOTE_TYPES}"/>', ""
).replace('type="t:Code"', 'type="xs:string"')


@pytest.mark.parametrize(
    "prefix",
    [b"\n  ", b"\xef\xbb\xbf", b"\xef\xbb\xbf\r\n", b"\n\xef\xbb\xbf", b"\t\r\n\xef\xbb\xbf\n"],
    ids=["whitespace", "bom", "bom-then-newline", "newline-then-bom", "mixed"],
)
def test_whitespace_or_bom_before_the_declaration_loads(tmp_path: Path, prefix: bytes) -> None:
    (tmp_path / "vendor.wsdl").write_bytes(prefix + PLAIN_WSDL.encode())
    loaded = WsdlRegistry(tmp_path).get("vendor.wsdl")
    assert loaded.client.wsdl.services["S"].ports["SP"].binding.get("Ping").name == "Ping"


def test_an_imported_xsd_with_leading_whitespace_loads(tmp_path: Path) -> None:
    (tmp_path / "svc.wsdl").write_text("\n" + WSDL_WITH_REMOTE_IMPORT)
    (tmp_path / "types.xsd").write_bytes(b"\xef\xbb\xbf\n" + TYPES_XSD.encode())
    (tmp_path / "catalog.yaml").write_text(f'"{REMOTE_TYPES}": types.xsd\n')
    assert (tmp_path / "types.xsd").resolve() in WsdlRegistry(tmp_path).get("svc.wsdl").documents


def test_a_dtd_after_leading_whitespace_is_still_refused(tmp_path: Path) -> None:
    evil = PLAIN_WSDL.replace(
        '<?xml version="1.0"?>',
        '<?xml version="1.0"?>\n<!DOCTYPE definitions [<!ENTITY x "boom">]>',
    )
    (tmp_path / "evil.wsdl").write_bytes(b"\xef\xbb\xbf\n" + evil.encode())
    with pytest.raises(ConfigError, match="declares a DTD"):
        load_wsdl(tmp_path / "evil.wsdl")


def test_wsdl_20_after_a_bom_is_refused_clearly(corpus: Path, tmp_path: Path) -> None:
    (tmp_path / "w.wsdl").write_bytes(
        b"\xef\xbb\xbf\n" + (corpus / "wsdl20" / "wikipedia.wsdl").read_bytes()
    )
    with pytest.raises(ConfigError, match="WSDL 2.0"):
        load_wsdl(tmp_path / "w.wsdl")


XML_XSD_IMPORT = '<xs:import namespace="http://www.w3.org/XML/1998/namespace" schemaLocation="{}"/>'


@pytest.mark.parametrize(
    "location",
    [
        "https://www.w3.org/2001/xml.xsd",
        "http://www.w3.org/2001/xml.xsd",
        "HTTPS://WWW.W3.ORG/2001/xml.xsd",
        "http://www.w3.org/2001/03/xml.xsd",
    ],
)
def test_standard_schema_spellings_resolve_to_the_bundled_copy(
    tmp_path: Path, location: str
) -> None:
    wsdl = PLAIN_WSDL.replace(
        '<xs:schema targetNamespace="urn:svc">',
        '<xs:schema targetNamespace="urn:svc">' + XML_XSD_IMPORT.format(location),
    )
    (tmp_path / "svc.wsdl").write_text(wsdl)
    loaded = WsdlRegistry(tmp_path).get("svc.wsdl")
    assert BUNDLED_CATALOG["http://www.w3.org/2001/xml.xsd"] in loaded.documents


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://www.w3.org/2000/09/xmldsig#", "//www.w3.org/2000/09/xmldsig"),
        ("http://www.w3.org/2000/09/xmldsig", "//www.w3.org/2000/09/xmldsig"),
        ("http://schemas.xmlsoap.org/soap/encoding", "//schemas.xmlsoap.org/soap/encoding"),
        ("http://h/x.xsd?v=2#f", "//h/x.xsd?v=2#f"),
        ("types.xsd", "types.xsd"),
        ("ftp://h/x.xsd", "ftp://h/x.xsd"),
    ],
)
def test_catalog_key_folds_spellings(url: str, key: str) -> None:
    assert catalog_key(url) == key


def test_a_user_catalog_entry_matches_the_other_scheme(tmp_path: Path) -> None:
    (tmp_path / "svc.wsdl").write_text(WSDL_WITH_REMOTE_IMPORT)
    (tmp_path / "types.xsd").write_text(TYPES_XSD)
    https = REMOTE_TYPES.replace("http://", "https://")
    (tmp_path / "catalog.yaml").write_text(f'"{https}": types.xsd\n')
    assert (tmp_path / "types.xsd").resolve() in WsdlRegistry(tmp_path).get("svc.wsdl").documents
