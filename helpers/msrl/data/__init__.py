"""Chart-code corpus: tables, LaTeX, chart specs, code emitters, corpus build, tokenizer."""
