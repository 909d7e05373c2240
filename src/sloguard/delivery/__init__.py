"""Safe delivery: rollouts (canary, blue-green), analysis runs, statistical judges and
traffic routers. See docs/delivery.md."""
