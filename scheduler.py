"""`python scheduler.py [--once] [--interval-minutes N]`, as `agentchat scheduler`: see `agentchat.scheduling`."""

import sys

from agentchat.scheduling import main

sys.exit(main())
