"""expctl.envinfo directly: what is a secret, how argv, text, bytes and mappings are masked, and
what `python -m expctl.envinfo` captures (real environment variables, a real git repository).
End to end masking through `expctl run` is in tests/reliability/test_secrets.py."""

from __future__ import annotations

import json
import subprocess
import sys

from expctl import envinfo
from expctl.envinfo import MASK


def test_url_credentials_are_masked_but_a_plain_ssh_user_is_kept():
    assert envinfo.mask_value("https://alice:s3cr3t@host/x") == f"https://alice:{MASK}@host/x"
    assert envinfo.mask_value("clone https://ghp_abcdef@github.com/o/r") == f"clone https://{MASK}@github.com/o/r"
    assert envinfo.mask_value("ssh://git@host/r.git") == "ssh://git@host/r.git"
    assert envinfo.mask_value("a@b.c and http://host/x") == "a@b.c and http://host/x"
    # the password runs to the last "@" of the authority
    assert envinfo.mask_value("https://u:p@ss@host/") == f"https://u:{MASK}@host/"


def test_secret_names_and_flags():
    for name in ("HF_TOKEN", "aws_secret_access_key", "DB_PASSWORD", "GITHUB_AUTH"):
        assert envinfo.is_secret_name(name), name
    for name in ("HOME", "lr", "model_name"):
        assert not envinfo.is_secret_name(name), name
    for flag in ("--api-key", "--hub_token", "--authtoken", "--password", "--aws.secret"):
        assert envinfo.is_secret_flag(flag), flag
    for flag in ("--max_new_tokens", "--lr", "--keyboard", "--tokenizer", "--author-name"):
        assert not envinfo.is_secret_flag(flag), flag


def test_mask_argv_hides_flag_values_and_known_secrets_and_reports_them():
    argv = ["python", "t.py", "--hub-token", "hf_abcdefgh", "--api-key=k-123456", "--lr", "0.1", "--auth", "false"]
    masked, found = envinfo.mask_argv(argv, secrets=["supersecretvalue"])
    assert masked == ["python", "t.py", "--hub-token", MASK, f"--api-key={MASK}", "--lr", "0.1", "--auth", "false"]
    assert found == ["hf_abcdefgh", "k-123456"]
    masked, found = envinfo.mask_argv(["--msg=xx-supersecretvalue-yy", "https://u:pw@h/"], ["supersecretvalue"])
    assert masked == [f"--msg=xx-{MASK}-yy", f"https://u:{MASK}@h/"] and found == []


def test_secret_values_come_from_the_environment_and_from_mappings(monkeypatch):
    monkeypatch.setenv("MY_API_TOKEN", "tok-abcdefgh")
    monkeypatch.setenv("SHORT_KEY", "abc")
    monkeypatch.setenv("FLAG_AUTH", "false")
    long_ones = envinfo.secret_values({"nested": {"db_password": "pw-123456789"}, "lr": "0.12345678"})
    assert "pw-123456789" in long_ones and "tok-abcdefgh" in long_ones
    assert [len(v) for v in long_ones] == sorted((len(v) for v in long_ones), reverse=True)  # longest first
    assert "0.12345678" not in long_ones and "abc" not in long_ones
    short = envinfo.secret_values(short=True)
    assert "abc" in short and "false" not in short


def test_mask_text_whole_word_for_short_secrets_and_bytes_kept_when_unchanged():
    assert envinfo.mask_text("key=abc abcd xabc", secrets=[], short=["abc"]) == f"key={MASK} abcd xabc"
    assert envinfo.mask_text("the tok-abcdefgh here", secrets=["tok-abcdefgh"]) == f"the {MASK} here"
    raw = b"\xff\xfe not utf-8 but no secret"
    assert envinfo.mask_bytes(raw, secrets=["tok-abcdefgh"]) is raw
    assert envinfo.mask_bytes(b"\xff tok-abcdefgh", secrets=["tok-abcdefgh"]) == b"\xff " + MASK.encode()


def test_mask_mapping_masks_secret_keys_values_and_lists(monkeypatch):
    monkeypatch.setenv("HUB_TOKEN", "hf_zzzzzzzz")
    out = envinfo.mask_mapping(
        {
            "hub": "hf_zzzzzzzz",
            "api_key": "anything",
            "empty_token": "",
            "opt": {"password": "x", "lr": 0.1},
            "urls": ["https://u:p@h/", "plain"],
            "note": "uses hf_zzzzzzzz inside",
        }
    )
    assert out == {
        "hub": MASK,
        "api_key": MASK,
        "empty_token": "",
        "opt": {"password": MASK, "lr": 0.1},
        "urls": [f"https://u:{MASK}@h/", "plain"],
        "note": f"uses {MASK} inside",
    }


def test_captured_environ_keeps_only_known_prefixes_masked(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    monkeypatch.setenv("HF_TOKEN", "hf_secretsecret")
    monkeypatch.setenv("UNRELATED_THING", "x")
    env = envinfo.captured_environ({"EXPCTL_STAGE": "smoke"})
    assert env["CUDA_VISIBLE_DEVICES"] == "0,1" and env["HF_TOKEN"] == MASK and env["EXPCTL_STAGE"] == "smoke"
    assert "UNRELATED_THING" not in env and list(env) == sorted(env)


def test_package_versions_read_metadata_without_importing():
    versions = envinfo.package_versions(("expctl", "no-such-package-xyz"))
    assert set(versions) == {"expctl"} and versions["expctl"]


def test_module_main_writes_the_environment_and_git_state(repo, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_secretsecret")
    out = tmp_path / "env.json"
    subprocess.run([sys.executable, "-m", "expctl.envinfo", str(out)], cwd=repo, check=True)
    info = json.loads(out.read_text())
    assert info["python"] == sys.version.split()[0] and info["packages"]["expctl"]
    assert info["environ"]["HF_TOKEN"] == MASK and "hf_secretsecret" not in out.read_text()
    assert isinstance(info["git"], dict) and info["git"]
    printed = subprocess.run([sys.executable, "-m", "expctl.envinfo"], cwd=repo, check=True, capture_output=True)
    assert json.loads(printed.stdout)["host"] == info["host"]
