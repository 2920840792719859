"""Energy Coordination: OpenADR VTN/VEN."""
