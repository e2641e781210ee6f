"""What keeps the record of a run: MLflow (`store` reaches and creates the store, `tracking` writes the
run tree, `tags` names its tags, `trialruns` makes a trial's run from its record; only `store` and
`tracking` talk to MLflow), what reproduces a run (`provenance`, `codeversion`), and the shards'
progress on disk (`progress`)."""
