"""The lab store: labs, runs, checkpoints and kept drawings in one SQL database; never imports Streamlit."""
