import os

os.environ.setdefault("QSNTK_NO_PROGRESS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=1")

import qsntk  # noqa: E402,F401  (switches on float64 before any test builds arrays)
