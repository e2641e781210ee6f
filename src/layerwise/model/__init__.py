"""The model a run hands over: its network file (`network`), raw rows in and labels out (`predictor`),
as an MLflow pyfunc model (`pyfunc_model`)."""
