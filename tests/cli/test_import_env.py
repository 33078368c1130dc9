"""``import-env`` moves well-known variables (or a .env file) into the store, never printing them."""

from __future__ import annotations

import json
from pathlib import Path

from .helpers import run


def test_import_from_a_dotenv_file(store_url: str, canary: str, tmp_path: Path) -> None:
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        f'# keys\nexport OPENAI_API_KEY="sk-{canary}"\nAWS_ACCESS_KEY_ID=AKIAEXAMPLE0000\n'
        f"AWS_SECRET_ACCESS_KEY='{canary}'\nAWS_REGION=us-east-1\n"
    )
    code, out = run(store_url, "import-env", "--file", str(dotenv), "--name", "OPENAI_API_KEY=llm")
    assert code == 0, out
    assert canary not in out and "--env OPENAI_API_KEY=llm" in out
    code, out = run(store_url, "list", "--json")
    assert sorted((i["name"], i["kind"]) for i in json.loads(out)) == [
        ("aws", "cloud_ak_sk"),
        ("llm", "model_service"),
    ]
    code, out = run(store_url, "reveal", "llm", "--yes")
    assert f"sk-{canary}" in out


def test_import_from_the_environment(store_url: str, canary: str) -> None:
    code, out = run(store_url, "import-env", "--json", env={"ANTHROPIC_API_KEY": "sk-" + canary})
    assert code == 0 and canary not in out
    assert json.loads(out)[0]["name"] == "anthropic"


def test_nothing_to_import_says_what_to_do(store_url: str) -> None:
    code, out = run(store_url, "import-env")
    assert code == 1 and "--file .env" in out
