"""The VEN agent's OpenADR 2.0b transport (simpleHttp pull), chosen with `[vtn] protocol = "2.0b"`."""
