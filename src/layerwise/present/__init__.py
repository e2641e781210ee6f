"""What a person reads: figures (`plots`, and which of them each stage draws, `figures`), the run on one
page (`summary_page`, summary.md), and the answers of `layerwise status`, `best` and `compare`
(`overview`)."""
