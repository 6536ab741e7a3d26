"""Everything that speaks SOAP: loading WSDLs, building envelopes, reading replies and faults."""
