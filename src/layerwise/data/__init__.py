"""The data: built-in data sets and the user's files, split into train / validation / test (`sets`),
and the scikit-learn transforms a preprocessing candidate chains (`transforms`)."""
