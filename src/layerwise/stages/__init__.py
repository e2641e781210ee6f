"""One trial of each kind of stage (`preprocess`, `pretrain`, `finetune`, named in `kinds` with their
search spaces), the inputs a stage's trials share (`inputs`), and the logistic baseline reported beside
every result (`baseline`)."""
