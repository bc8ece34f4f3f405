"""One small command-line script per workflow rule: parse arguments, call the library."""
