"""The deployment files in deploy/ are valid, offline: the Compose file against the Compose
specification's JSON schema (the one Docker published in docker-compose 1.29.2's wheel, which
.ci/run downloads, $COMPOSE_SCHEMA), the Kubernetes manifests against Kubernetes' own schemas
(kubernetes-validate, which bundles them, --strict), and the configuration each one carries
started by the real binary with the manifest's own command line: a file `serve` refuses (a
missing key, a wrong type, a command-line flag it does not take) fails here.

Run: TABLEAU_SCIM_BIN=target/debug/tableau-scim COMPOSE_SCHEMA=.../compose_spec.json \
     python tests/container/check_deploy.py
"""

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BIN = str(Path(os.environ.get("TABLEAU_SCIM_BIN", REPO / "target/debug/tableau-scim")).resolve())
KUBERNETES_VERSION = "1.31.0"


def placeholders_filled(text):
    """The <...> an operator replaces: a token digest by a digest, anything else by a word."""
    text = text.replace("<tableau-scim hash-token>", "0" * 64)
    return re.sub(r"<[^<>\n]+>", "placeholder-value", text)


def serve_accepts(config_text, args, where, env=None):
    """Start `tableau-scim` with the manifest's `args`, its --config on `config_text` (the
    container's secret files given as temporary files): it must get past reading the file (it
    then reaches for a database or Tableau that is not here; that is not this check's)."""
    with tempfile.TemporaryDirectory() as tmp:
        text = placeholders_filled(config_text)
        for path in sorted(set(re.findall(r'_file = "([^"]+)"', text))):
            local = Path(tmp) / Path(path).name
            local.write_text("placeholder-secret-0123456789\n")
            local.chmod(0o600)
            text = text.replace(f'"{path}"', f'"{local}"')
        config = Path(tmp) / "config.toml"
        config.write_text(text)
        argv = list(args)
        argv[argv.index("--config") + 1] = str(config)
        try:
            done = subprocess.run([BIN, *argv], capture_output=True, text=True, timeout=5,
                                  env=dict(os.environ, **(env or {})), cwd=tmp)
        except subprocess.TimeoutExpired:
            print(f"{where}: `tableau-scim {' '.join(args)}` read its configuration and is running")
            return
        said = done.stderr.strip()
        if done.returncode == 2 and "Usage:" in said:
            raise SystemExit(f"{where}: the command line is refused: {said}")
        if said.startswith(f"tableau-scim {args[0]}: {config}:"):
            raise SystemExit(f"{where}: the configuration is refused: {said}")
        print(f"{where}: the configuration loads (then: {said.splitlines()[-1][-240:] if said else done.returncode})")


def check_compose(schema_path):
    compose = yaml.safe_load((DEPLOY / "compose/compose.yaml").read_text())
    schema = json.loads(Path(schema_path).read_text())
    jsonschema.validate(compose, schema, cls=jsonschema.Draft201909Validator)
    print("deploy/compose/compose.yaml: valid against the Compose specification")
    # What it mounts from beside itself and the repository holds.
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./") and source not in ("./tls",):
                assert (DEPLOY / "compose" / source).exists(), f"compose.yaml mounts {source}, not in deploy/compose"
    scim = compose["services"]["scim"]
    serve_accepts((DEPLOY / "compose/etc/config.toml").read_text(), scim["command"],
                  "deploy/compose (service scim)", env=scim.get("environment", {}))


def check_kubernetes():
    path = DEPLOY / "kubernetes/tableau-scim.yaml"
    done = subprocess.run([sys.executable, "-m", "kubernetes_validate", "--strict",
                           "-k", KUBERNETES_VERSION, str(path)], capture_output=True, text=True)
    print(done.stdout.strip())
    assert done.returncode == 0, f"{path} is not valid Kubernetes {KUBERNETES_VERSION}:\n{done.stdout}{done.stderr}"
    docs = list(yaml.safe_load_all(path.read_text()))
    secret = next(d for d in docs if d["kind"] == "Secret")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    mount = next(m["mountPath"] for m in container["volumeMounts"] if m["name"] == "config")
    # The image's user reads the mounted Secret: Kubernetes gives a secret volume's files the
    # pod's fsGroup as their group (kubernetes.io/docs/tasks/configure-pod-container/
    # security-context), so fsGroup is that user's group and the mode lets the group read.
    image_uid = 10001  # the Dockerfile's USER (tests/container/check_image.py runs it)
    pod = deployment["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "config")
    assert pod.get("securityContext", {}).get("fsGroup") == image_uid, "fsGroup: the image's user cannot read the Secret"
    assert volume["secret"].get("defaultMode", 0o644) & 0o040, "defaultMode: the group cannot read the Secret"
    # The secret files the configuration names are keys of the Secret it mounts.
    config = secret["stringData"]["config.toml"]
    for file in re.findall(r'_file = "([^"]+)"', config):
        assert file.startswith(mount + "/") and Path(file).name in secret["stringData"], f"{file}: not in the Secret"
    serve_accepts(config, container["args"], "deploy/kubernetes (Deployment tableau-scim)")


def the_check_sees_a_refused_configuration():
    """The manifests' first version lacked public_url, which serve requires: shown refused."""
    text = (DEPLOY / "compose/etc/config.toml").read_text()
    broken = "\n".join(l for l in text.splitlines() if not l.startswith("public_url"))
    try:
        serve_accepts(broken, ["serve", "--config", "x", "--log-format", "json"], "without public_url")
    except SystemExit as refused:
        assert "public_url" in str(refused), refused
        print(f"a configuration without public_url is caught: {str(refused)[:120]}")
        return
    raise AssertionError("a configuration serve refuses passed the check")


def main():
    check_compose(os.environ["COMPOSE_SCHEMA"])
    check_kubernetes()
    the_check_sees_a_refused_configuration()
    print("deploy check: passed")


if __name__ == "__main__":
    main()
