"""Segmentation dashboard: ``streamlit run app.py``.

The page list lives in :mod:`ui.pages`; each page is a script under ``app_pages/``.
"""

import streamlit as st

from seglib import isolation
from seglib.threads import cap_blas
from ui.memory import freeze_imports
from ui.pages import PAGES
from ui.sessions import served, start_reaper

start_reaper()  # once per process: sessions whose browser has gone are released
if served():  # its sessions' threads share one interpreter lock (seglib.isolation.offload)
    isolation.offload()

st.set_page_config(page_title="Segmentation Dashboard", page_icon=":material/grid_view:", layout="wide")
st.navigation([st.Page(p.path, title=p.title, icon=p.icon, default=p.default) for p in PAGES]).run()
freeze_imports()  # after the page imported what it needs: keeps the collection after every run cheap
cap_blas(1)  # and its BLAS, if new: a BLAS on several threads costs ~0.1 s of spinning CPU a call (seglib.threads)
