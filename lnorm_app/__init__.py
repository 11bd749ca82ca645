"""lnorm_app: what only the Streamlit app needs, on top of the library lnorm_core.

    config.py   Config: the sidebar's settings as one frozen, hashable value
    models/     one page model per page: pure functions of a Config, bounded caches
    figures/    plotly figure builders, one module per page
    reproduce   notebook code and downloads of a view
    cache.py    the bounded, thread-safe result cache
    ui.py       the one module that imports streamlit: sidebar, link checks, messages

Views (views/*.py) import from here only.
"""
