"""The generated leaderboard: Markdown tables and plots built only from result records
(``results/records``) and the reported numbers with their sources (``leaderboard/reported.csv``)."""
