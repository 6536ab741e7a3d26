"""The demo legacy system: handlers that the mock SOAP server serves for wsdl/crm.wsdl."""
