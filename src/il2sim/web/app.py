"""The Streamlit script of ``il2sim web``: three pages over the same session."""

import streamlit as st

from il2sim.web._cohort_page import cohort_page
from il2sim.web._designer import designer_page
from il2sim.web._therapy_page import therapy_page

st.set_page_config(page_title="il2sim", layout="wide")
page = st.navigation(
    [
        st.Page(designer_page, title="Drug designer", url_path="designer", default=True),
        st.Page(therapy_page, title="Therapy", url_path="therapy"),
        st.Page(cohort_page, title="Virtual trial", url_path="trial"),
    ]
)
st.sidebar.caption(
    "il2sim: mechanistic IL-2 immunotherapy, from receptor binding to virtual trials. "
    "Every number in the catalog carries its source."
)
page.run()
