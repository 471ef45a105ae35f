"""Running programs: the sandbox, chart introspection, code extraction and normalization."""
