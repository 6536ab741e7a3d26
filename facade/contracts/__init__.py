"""What each route takes and gives, as JSON Schemas derived from the WSDL.

The route table compiles a contract for every route (the pipeline validates requests
against it, whichever side serves); `facade.openapi` only renders them.
"""

from facade.contracts.build import (
    COMPONENTS,
    UNTYPED_RESPONSE,
    Contracts,
    RouteContract,
    build_contracts,
)

__all__ = ["COMPONENTS", "UNTYPED_RESPONSE", "Contracts", "RouteContract", "build_contracts"]
