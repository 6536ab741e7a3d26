"""Values between JSON and SOAP: request arguments in, typed JSON out, JMESPath shaping."""
