"""Zero-or-One Lab's core: data, network, training, preprocessing and inference, free of Streamlit."""
