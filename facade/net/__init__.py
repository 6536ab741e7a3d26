"""The network seam: every call to a backend, legacy or new, goes through one `Transport`.

    transport = HttpTransport()
    reply = await transport.request("POST", url, body, headers, Deadline.after(5.0))

What a reply means (a SOAP envelope, a fault, an HTML error page) is not decided here.
"""

from facade.net.client import HttpTransport
from facade.net.memory import MemoryTransport
from facade.net.seam import DEFAULT_MAX_REPLY_BYTES, Deadline, Reply, Transport

__all__ = [
    "DEFAULT_MAX_REPLY_BYTES",
    "Deadline",
    "HttpTransport",
    "MemoryTransport",
    "Reply",
    "Transport",
]
