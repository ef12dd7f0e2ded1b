"""Streamlit glue shared by the pages: image picker, parameter widgets, cached runs, views.

Only this package and ``app_pages/`` import Streamlit; :mod:`seglib` stays pure.
"""
