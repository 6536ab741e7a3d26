"""Load a WSDL with zeep from local files only, with hardened XML settings.

Nothing is fetched from the network at load: an import of a remote URL resolves through
the catalog (remote URL -> local copy) or fails with an error that names the URL and says
how to add it. The facade ships copies of the standard schemas WSDLs commonly import.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import zeep
from lxml import etree
from zeep.exceptions import DTDForbidden, EntitiesForbidden
from zeep.exceptions import Error as ZeepError

from facade.errors import ConfigError, ConfigProblem
from facade.translate.xml import strip_leading_noise

WSDL20_NAMESPACE = "http://www.w3.org/ns/wsdl"
BUNDLED_SCHEMAS = Path(__file__).resolve().parent.parent / "xsd"

# Standard schemas that WSDLs import by URL, often without a usable schemaLocation.
# Lookups ignore the scheme, the case of the host and a trailing `/` or `#` (`catalog_key`).
BUNDLED_CATALOG: dict[str, Path] = {
    "http://schemas.xmlsoap.org/soap/encoding/": BUNDLED_SCHEMAS / "soap-encoding.xsd",
    "http://www.w3.org/2001/xml.xsd": BUNDLED_SCHEMAS / "xml.xsd",
    "http://www.w3.org/2001/03/xml.xsd": BUNDLED_SCHEMAS / "xml.xsd",
    "http://www.w3.org/XML/1998/namespace": BUNDLED_SCHEMAS / "xml.xsd",
    "http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd": (
        BUNDLED_SCHEMAS / "xmldsig-core-schema.xsd"
    ),
    "http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd": (
        BUNDLED_SCHEMAS / "xmldsig-core-schema.xsd"
    ),
    "http://www.w3.org/2000/09/xmldsig#": BUNDLED_SCHEMAS / "xmldsig-core-schema.xsd",
}
_WEB_SCHEMES = ("http", "https")


def catalog_key(url: str) -> str:
    """One spelling for the ways WSDLs write the same schema URL.

    `https://WWW.w3.org/2001/xml.xsd` and `http://www.w3.org/2001/xml.xsd` are one key, and so
    are `http://www.w3.org/2000/09/xmldsig#` and `.../xmldsig`; other URLs stay as they are.
    """
    parsed = urlparse(url.strip())
    if parsed.scheme.lower() not in _WEB_SCHEMES:
        return url
    query = f"?{parsed.query}" if parsed.query else ""
    fragment = f"#{parsed.fragment}" if parsed.fragment else ""
    return f"//{parsed.netloc.lower()}{parsed.path.rstrip('/')}{query}{fragment}"


class RemoteImportRefused(ZeepError):
    """A WSDL or XSD import points at the network and the catalog has no local copy."""

    def __init__(self, url: str) -> None:
        self.url = url
        super().__init__(
            f"imports {url!r}, which is not fetched from the network; save a copy next to "
            f"the WSDL and map it in wsdl/catalog.yaml ('{url}': file.xsd)"
        )


class LocalOnlyTransport(zeep.Transport):
    """A zeep transport that reads local files and the catalog, never the network."""

    def __init__(self, catalog: Mapping[str, Path]) -> None:
        super().__init__()
        self.catalog = {
            catalog_key(url): path for url, path in {**BUNDLED_CATALOG, **catalog}.items()
        }
        self.loaded: list[Path] = []

    def load(self, url: str) -> bytes:
        path = self._local_path(url)
        self.loaded.append(path)
        return strip_leading_noise(path.read_bytes())

    def _local_path(self, url: str) -> Path:
        key = catalog_key(url)
        if key in self.catalog:
            return self.catalog[key]
        parsed = urlparse(url)
        if parsed.scheme in ("http", "https", "ftp"):
            raise RemoteImportRefused(url)
        if parsed.scheme == "file":
            return Path(url2pathname(parsed.path))
        return Path(url)


def hardened_settings() -> zeep.Settings:
    """No DTDs, no entities, huge trees refused.

    External references are not refused here but by LocalOnlyTransport, the one gate every
    load passes, so that the catalog can map them to local copies.
    """
    return zeep.Settings(
        strict=True,
        forbid_dtd=True,
        forbid_entities=True,
        forbid_external=False,
        xml_huge_tree=False,
        xsd_ignore_sequence_order=False,
    )


@dataclass(frozen=True)
class LoadedWsdl:
    """A parsed WSDL, the files it was read from, and what zeep warned about on the way."""

    path: Path
    client: zeep.Client
    documents: tuple[Path, ...]
    warnings: tuple[str, ...]


def load_wsdl(path: Path, catalog: Mapping[str, Path] | None = None) -> LoadedWsdl:
    """Load one WSDL into a zeep client, or raise ConfigError naming the file and the cause.

    After loading, the client parses replies leniently (unknown elements are skipped):
    legacy systems add fields without updating their WSDL. Well-formedness of replies is
    checked separately by the facade's own parse.
    """
    _refuse_wsdl20(path)
    settings = hardened_settings()
    transport = LocalOnlyTransport(catalog or {})
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            client = zeep.Client(str(path), transport=transport, settings=settings)
    except FileNotFoundError as exc:
        raise _problem(path, f"cannot read {exc.filename}: no such file") from exc
    except RemoteImportRefused as exc:
        raise _problem(path, str(exc)) from exc
    except etree.XMLSyntaxError as exc:
        raise _problem(path, f"is not well-formed XML: {exc.msg}") from exc
    except (DTDForbidden, EntitiesForbidden) as exc:
        raise _problem(
            path,
            "(or a file it imports) declares a DTD or entities, which are refused; remove them",
        ) from exc
    except (ZeepError, LookupError, ValueError, KeyError, AttributeError, TypeError) as exc:
        # zeep raises a mix of its own and built-in errors for broken schemas.
        raise _problem(path, f"cannot be loaded: {type(exc).__name__}: {exc}") from exc
    settings.strict = False
    return LoadedWsdl(
        path=path,
        client=client,
        documents=tuple(dict.fromkeys(transport.loaded)),
        warnings=tuple(str(w.message) for w in caught),
    )


def _refuse_wsdl20(path: Path) -> None:
    try:
        content = io.BytesIO(strip_leading_noise(path.read_bytes()))
        _, root = next(etree.iterparse(content, events=("start",), no_network=True))
        namespace = etree.QName(root.tag).namespace  # ValueError for an unbound prefix
    except (OSError, etree.XMLSyntaxError, StopIteration, ValueError):
        return  # zeep reports these with its own message
    if namespace == WSDL20_NAMESPACE:
        raise _problem(path, "is a WSDL 2.0 document; only WSDL 1.1 is supported")


def _problem(path: Path, message: str) -> ConfigError:
    return ConfigError([ConfigProblem(file=str(path), field="", message=message)])
