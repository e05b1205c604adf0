"""The web app: a client of the Python API for planners who would rather not use a terminal.

It builds a Scenario from a file, a form and a YAML editor (``editing.py``), keeps every
file a visitor gives or gets inside its own working folder (``workspace.py``), runs
scenarios, comparisons and sweeps in a separate warm process (``runner.py``: so that Cancel
stops a run at once and the page stays live), and draws what summary.json and the run's
series hold (``views.py``, ``charts.py``). ``page.py`` is the Streamlit page; ``script.py``
is the file Streamlit runs. Nothing here simulates: every figure comes from
``run_scenario``, ``compare_scenarios`` or ``sweep``.
"""

from pathlib import Path

SCRIPT = Path(__file__).with_name("script.py")
"""The file ``streamlit run`` is given."""
WORKDIR_ENV = "SIMSAMPLING_APP_WORKDIR"
"""The environment variable that tells the page its working folder (set by ``simsampling app``)."""
