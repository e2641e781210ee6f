"""Networks and how they learn: layers and classifiers (`models`, `rbm`), the pretraining algorithms as
fit/transform objects (`learners`), their criteria and penalties (`criteria`, `regularization`), the
SGD loop with early stopping and resumable state (`optim`, `training`, `checkpoint`), the read-outs
that score a layer (`readout`), stacks of kept layers (`stack`) and where training runs (`devices`)."""
