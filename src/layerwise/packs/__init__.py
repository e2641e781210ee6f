"""Trials trained together as one batched model: a trial in a pack and the per-trial arithmetic of an
update (`members`), what every pack shares, its SGD update and epoch loop (`engine`), and the two kinds
of pack, the auto-encoders of a layer (`autoencoders`) and the classifiers of fine-tuning
(`classifiers`)."""
