"""What a person reads: figures (`canvas` what they share, `space_plots` of a search space,
`training_plots` of training, and `figures` which of them each stage draws), the run on one page
(`summary_page`, summary.md), and the answers of `layerwise status`, `best` and `compare` (`overview`)."""
