"""The offline training job: H2O AutoML to a MOJO registered in MLflow."""
