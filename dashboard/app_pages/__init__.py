"""The dashboard's pages. Streamlit runs each file as a script (see dashboard/app.py); the
folder is a package only so that the layer contracts in pyproject.toml can name the pages."""
