"""The names layerwise gives MLflow's tags: one vocabulary for the runs it writes and the tests and
tools that read them."""

ROLE, STAGE, TRIAL, PARENT_TRIAL = "layerwise.role", "layerwise.stage", "layerwise.trial", "layerwise.parent_trial"
EXTENDED = "layerwise.extended"  # intervals an adaptive strategy widened (extend_on_border)
PACK = "layerwise.pack"  # the pack a trial trained in, together with the others of that pack (packs/)
SHARD = "layerwise.shard"  # the shard (job) that ran a trial: which one is decided as the shards go (claims.py)
BORDER = "layerwise.border"  # numeric hyper-parameters whose best value lies on a border of the interval
SUPERSEDED = "layerwise.superseded"  # a trial run of an attempt that did not complete; a later one replaces it
CLOSED_BY = "layerwise.closed_by"  # why a run was closed by something other than its own job
STATUS, REASON = "layerwise.status", "layerwise.failure_reason"  # a trial's status (FINISHED, FAILED, PRUNED)
RUNG, BUDGET = "layerwise.rung", "layerwise.budget"  # with halving: the rung a trial reached, its epochs there
PARENT_RUN = "mlflow.parentRunId"
# Opens the experiment in the UI's model-training view (its runs table) rather than the GenAI overview.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
