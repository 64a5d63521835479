"""Capture the run environment (Python, packages, GPUs, host, git) with secrets masked.

Cheap by design: package versions come from installed metadata (nothing is imported),
GPUs from ``nvidia-smi`` only when it is on PATH. Environment variables whose name
contains TOKEN, KEY, SECRET, PASSWORD, CREDENTIAL or AUTH are masked, and so is the
password part of any URL with credentials (``https://user:pass@host``).

``python -m expctl.envinfo OUT.json`` writes the same file for `bash run.sh` run by hand.
"""

from __future__ import annotations

import getpass
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

MASK = "***"
SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|PASSWD|PWD_|CREDENTIAL|AUTH", re.IGNORECASE)
# scheme://userinfo@ -- userinfo runs to the *last* "@" of the authority, so a password
# holding "@" is masked whole; a user-only userinfo of an http(s) URL is a token
# (https://ghp_xxx@github.com/...) and is masked too.
# The scheme is bounded (32 characters) so that masking stays linear on huge values.
URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]{0,31}://)(?P<userinfo>[^/\s?#\"'<>]*)@")
MIN_SECRET_LEN = 6  # shorter secret values are not searched for in free text (too many false hits)
KEY_PACKAGES = (
    "expctl",
    "torch",
    "transformers",
    "accelerate",
    "tokenizers",
    "datasets",
    "numpy",
    "scikit-learn",
    "deepspeed",
    "peft",
    "sentencepiece",
    "jieba",
)
ENV_PREFIXES = (
    "CUDA_",
    "NCCL_",
    "OMP_",
    "MKL_",
    "HF_",
    "TRANSFORMERS_",
    "TORCH",
    "PYTORCH_",
    "ACCELERATE_",
    "PYTHON",
    "TOKENIZERS_",
    "EXPCTL_",
    "WORLD_SIZE",
    "RANK",
    "LOCAL_RANK",
    "MASTER_",
    "SLURM_",
    "VIRTUAL_ENV",
    "CONDA_DEFAULT_ENV",
    "LANG",
    "LC_ALL",
)


def _mask_userinfo(m: re.Match) -> str:
    scheme, userinfo = m.group("scheme"), m.group("userinfo")
    user, sep, _pw = userinfo.partition(":")
    if sep:
        return f"{scheme}{user}:{MASK}@"
    if scheme.lower() in ("http://", "https://") and userinfo:
        return f"{scheme}{MASK}@"
    return m.group(0)  # ssh://git@host: a user name, no secret


def mask_value(value: str) -> str:
    """Mask credentials embedded in URLs inside a string."""
    return URL_CREDENTIALS.sub(_mask_userinfo, value)


def secret_values(*mappings: Mapping[str, Any] | None, short: bool = False) -> list[str]:
    """Values of secret-named keys (environment variables, settings), longest first.

    ``short=False``: values of at least MIN_SECRET_LEN characters (searched for anywhere);
    ``short=True``: the shorter ones (3 characters or more, not a boolean or a number), which
    are masked only where they stand as a whole word.
    """
    found: set[str] = set()
    for mapping in (os.environ, *mappings):
        if not mapping:
            continue
        for key, value in _flat_items(mapping):
            if not (is_secret_name(key) and isinstance(value, str)):
                continue
            if not short and len(value) >= MIN_SECRET_LEN:
                found.add(value)
            elif short and 3 <= len(value) < MIN_SECRET_LEN and not _not_secret(value):
                found.add(value)
    return sorted(found, key=len, reverse=True)


def _not_secret(value: str) -> bool:
    """Values a secret-named variable holds that are settings, not secrets (false, 128)."""
    low = value.strip().lower()
    return low in ("true", "false", "yes", "no", "on", "off", "none", "null") or bool(re.fullmatch(r"[-+.\d]+", low))


_FLAG_WORD = re.compile(r"(token|key|keys|secret|secrets|password|passwd|pwd|credential|credentials|auth|apikey)$")


def is_secret_flag(flag: str) -> bool:
    """A command-line flag that carries a secret: one of its words (split at - _ .) is, or
    ends with, token / key / secret / password / credential / auth (``--api-key``,
    ``--hub_token``, ``--authtoken``); ``--max_new_tokens`` is not one."""
    words = re.split(r"[-_.]+", flag.lstrip("-").lower())
    return any(_FLAG_WORD.search(w) for w in words if w)


def mask_argv(argv: list[str], secrets: list[str] | None = None) -> tuple[list[str], list[str]]:
    """(masked argv, the secret values found in it): ``--token VALUE``, ``--token=VALUE``,
    plus every secret value (and URL credential) anywhere in an argument."""
    out: list[str] = []
    found: list[str] = []
    hide_next = False
    for word in argv:
        if hide_next:
            hide_next = False
            if word and not word.startswith("-") and not _not_secret(word):
                found.append(word)
                out.append(MASK)
                continue
        flag, eq, value = word.partition("=")
        if word.startswith("-") and is_secret_flag(flag):
            if eq and value and not _not_secret(value):
                found.append(value)
                out.append(f"{flag}={MASK}")
                continue
            if not eq:
                hide_next = True
        out.append(mask_text(word, secrets))
    return out, found


def _flat_items(mapping: Mapping[str, Any], prefix: str = ""):
    for key, value in mapping.items():
        if isinstance(value, Mapping):
            yield from _flat_items(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def mask_text(text: str, secrets: list[str] | None = None, short: list[str] | tuple[str, ...] = ()) -> str:
    """Mask URL credentials and every occurrence of the given secret values in free text;
    ``short`` secrets only where they stand as a whole word."""
    for value in secrets if secrets is not None else secret_values():
        if value and value in text:
            text = text.replace(value, MASK)
    for value in short:
        if value in text:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(value)}(?![A-Za-z0-9])", MASK, text)
    return mask_value(text)


def mask_bytes(data: bytes, secrets: list[str] | None = None, short: list[str] | tuple[str, ...] = ()) -> bytes:
    """:func:`mask_text` for file contents (undecodable bytes kept as they are)."""
    text = data.decode("utf-8", "surrogateescape")
    masked = mask_text(text, secrets, short)
    return data if masked == text else masked.encode("utf-8", "surrogateescape")


def is_secret_name(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def mask_mapping(values: Mapping[str, Any], secrets: list[str] | None = None) -> dict[str, Any]:
    """Mask secret-looking keys (recursively), URL credentials in string values, and values
    that hold a secret: a value equal to (or containing) ``secrets`` or the value of a
    secret-named environment variable (``-s hub=$GITHUB_TOKEN``)."""
    if secrets is None:
        secrets = secret_values()
    exact = set(secrets) | set(secret_values(short=True))

    def one(v: Any) -> Any:
        if not isinstance(v, str):
            return v
        return MASK if v in exact else mask_text(v, secrets)

    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            out[key] = mask_mapping(value, secrets)
        elif is_secret_name(str(key)) and value not in (None, "", False):
            out[key] = MASK
        elif isinstance(value, list):
            out[key] = [one(v) for v in value]
        else:
            out[key] = one(value)
    return out


def package_versions(names=KEY_PACKAGES) -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def gpus() -> list[dict[str, str]]:
    exe = shutil.which("nvidia-smi")
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, "--query-gpu=index,name,memory.total,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    rows = []
    for line in out.stdout.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 4:
            rows.append({"index": parts[0], "name": parts[1], "memory": parts[2], "driver": parts[3]})
    return rows


def captured_environ(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}
    if extra:
        env.update(extra)
    return mask_mapping(dict(sorted(env.items())))


def capture(git: Mapping[str, Any] | None = None, extra_env: Mapping[str, str] | None = None) -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        user = None
    return {
        "host": socket.gethostname(),
        "user": user,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "cpu_count": os.cpu_count(),
        "packages": package_versions(),
        "gpus": gpus(),
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "environ": captured_environ(extra_env),
        "git": dict(git or {}),
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from expctl.fsutil import write_json
    from expctl.gitlayer import work_tree_state

    info = capture(work_tree_state("."))
    if argv:
        write_json(argv[0], info)
    else:
        from expctl.fsutil import dumps

        sys.stdout.write(dumps(info))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
