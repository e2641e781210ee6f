"""One trial of each kind of stage (`preprocess`, `pretrain`, `finetune`, named in `kinds` with their
search spaces), the inputs a stage's trials share (`inputs`), the logistic baseline reported beside
every result (`baseline`), and the final model's choice among it and the networks (`choice`)."""
