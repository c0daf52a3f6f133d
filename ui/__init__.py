"""The Streamlit demo page; it reaches the scorer over HTTP and nothing else."""
