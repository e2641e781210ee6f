"""Trials trained together as one batched model: the members, their per-trial SGD step and the epoch
loop (`engine`), and the two kinds of pack, the auto-encoders of a layer (`autoencoders`) and the
classifiers of fine-tuning (`classifiers`)."""
