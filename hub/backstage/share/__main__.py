"""Run the share page: ``python -m backstage.share`` (started by the hub as a managed service)."""

import sys

from backstage.share.app import main

sys.exit(main())
