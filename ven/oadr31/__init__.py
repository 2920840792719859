"""The VEN agent's OpenADR 3.1 transport (REST + JSON, the default `[vtn] protocol = "3.1"`)."""
