"""The code that makes the research artifacts under data/: the bench/ scripts' longer searches and sweeps, the
refined line search, the aggregated tables, the study's baselines. Not part of what a student imports: no notebook
and no module of gc_helpers imports gc_research (tests/test_architecture.py checks both); gc_research imports
gc_helpers freely. Installed with gc_helpers by the same pyproject.toml.
"""
