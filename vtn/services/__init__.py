"""Business rules of the VTN: object privacy, targeting, ownership, references between objects."""
