"""The operator's dashboard: `streamlit run app.py`. Everything it draws is in `agentchat.dashboard`."""

import streamlit as st

from agentchat.dashboard import live_page, start

start()  # settings, the sidebar (shared by every page) and this session's live feed
st.navigation(
    [
        st.Page(live_page, title="Live chat", icon="💬", default=True),
        st.Page("pages/1_Diagnostics.py", title="Diagnostics", icon="🩺", url_path="diagnostics"),
    ]
).run()
