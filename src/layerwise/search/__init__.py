"""What a search tries and what it learns from the trials: spaces and distributions (`space`), trials
as a pure function of (seed, stage, round, index) (`trials`), the strategies that propose them
(`strategies`), how a round's trials are shared among the arms (`arms`), successive halving and
Hyperband as rounds (`halving`), best values on an interval's border (`border`) and each
hyper-parameter's importance (`importance`)."""
