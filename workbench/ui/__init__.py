"""Streamlit pages: each lays out what the core computes; no rule logic lives here."""
