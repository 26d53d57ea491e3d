"""JupyterHub configuration of Government Backstage.

Layers, in order (like The Littlest JupyterHub): the lab's defaults ▸ the site's settings
(``$BACKSTAGE_STATE/settings.yaml``, validated) ▸ ``jupyterhub_config.d/*.py``, the escape hatch for
anything else. The configuration is built by ``backstage.hubconfig.build_config`` so it can be tested.
"""

from pathlib import Path

from backstage import patches
from backstage.hubconfig import build_config
from backstage.settings import load_settings

patches.apply()  # JupyterHub 6.1.1: group shares for tokens, service links and hub pages across hosts (backstage/patches.py)

c = get_config()  # noqa: F821
c.merge(build_config(load_settings()))

for extra in sorted((Path(__file__).parent / "jupyterhub_config.d").glob("*.py")):
    load_subconfig(str(extra))  # noqa: F821
