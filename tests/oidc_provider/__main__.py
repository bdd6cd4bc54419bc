"""`python -m tests.oidc_provider CONFIG.json PORT`: serve the test provider on 127.0.0.1."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

from tests.oidc_provider.server import ProviderConfig, create_provider


def main() -> None:
    config = ProviderConfig.from_json(Path(sys.argv[1]).read_text())
    uvicorn.run(
        create_provider(config), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning"
    )


if __name__ == "__main__":
    main()
