"""``physgen demo``: data, analysis and models end to end on built-in data, in one report."""
