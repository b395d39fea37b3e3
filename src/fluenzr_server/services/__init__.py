"""Domain rules, one module per aggregate. No HTTP types here: handlers translate."""
