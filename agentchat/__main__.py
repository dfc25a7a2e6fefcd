"""`python -m agentchat`: see `agentchat.cli`."""

import sys

from agentchat.cli import main

sys.exit(main())
