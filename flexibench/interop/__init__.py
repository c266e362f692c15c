"""FlexiBench in the tools NAS researchers already run: ConfigSpace, syne-tune's simulator, Optuna.

Every module here imports its library (``ConfigSpace``, ``syne_tune``, ``optuna``) inside
itself, so ``import flexibench.interop`` stays light; install them with the ``interop``
extra (``pip install -e ".[interop]"``). ``schema`` is the one description of the space
the adapters share; ``configspace``, ``blackbox`` + ``synetune`` and ``optuna_study`` are
the adapters; ``pareto`` and ``multiobjective`` the multi-objective queries and runs;
``compare`` the combined leaderboard.
"""
