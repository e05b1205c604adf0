"""The file ``streamlit run`` executes (``simsampling app`` passes it): the page, nothing else."""

from simsampling.app.page import main

main()
