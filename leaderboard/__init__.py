"""The generated leaderboard: paper-style tables, a self-contained web page, a per-run CSV and
plots, built only from result records (``results/records``) and the reported numbers with their
sources and tolerances (``leaderboard/reported.csv``); ``python -m leaderboard reproduce`` runs
the real-data reproduction that feeds its real-benchmark cells. See ``leaderboard/NOTES.md``."""
