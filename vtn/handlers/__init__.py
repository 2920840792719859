"""HTTP handlers, one module per OpenADR resource; thin: decode, authorize, call a service, encode."""
