"""What keeps the record of a run: MLflow (`tracking`, the only module that talks to the store, and
`trialruns`, a trial's run from its record), what reproduces a run (`provenance`, `codeversion`), and
the shards' progress on disk (`progress`)."""
