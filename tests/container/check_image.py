"""The container image's build and run, checked from the Dockerfile itself, so the check cannot
drift from it. No Docker engine runs here (and no registry can be pulled from), so:

1. The Dockerfile is read: its stages, each stage's WORKDIR, COPY, RUN, USER, ENV, VOLUME,
   EXPOSE, HEALTHCHECK, ENTRYPOINT and CMD.
2. The build context is what .dockerignore lets in, and it must hold exactly what the build
   stage's COPY lines name (nothing copied is left out, nothing is sent that is not copied).
3. The build stage is played in a temporary directory standing for its file system: each COPY
   puts exactly its sources there, and each RUN runs there in order (offline: the dependencies
   come from the registry cache CI already filled).
4. The runtime stage's contract is run on the result: its COPY --from=build takes the binary,
   its ENTRYPOINT and CMD start it as its USER (uid 10001) with its ENV and WORKDIR, against a
   configuration in its configuration volume and a data volume only that user can write (the
   image's absolute paths under its VOLUMEs are mapped into the temporary directory), and its
   HEALTHCHECK command itself must pass. Then an IdP's first requests go through it.
5. The same build with templates/ left out of the context must fail (the check would catch a
   Dockerfile that forgets a directory the build needs).

Run as root (to start the server as uid 10001): python3 tests/container/check_image.py
Exit status 0 when everything holds. TABLEAU_SCIM_BIN (a built tableau-scim) runs the emulator
the server talks to.
"""

import fnmatch
import hashlib
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = str(Path(os.environ.get("TABLEAU_SCIM_BIN", REPO / "target/debug/tableau-scim")).resolve())
# A build target kept between runs, so a second run compiles only what changed.
KEEP = Path(os.environ.get("IMAGE_CHECK_CACHE", Path(tempfile.gettempdir()) / "tableau-scim-image-check"))
SCIM_TOKEN = "image-check-scim-token-0123456789"


def logical_lines(text):
    """Dockerfile lines with continuations joined and comments dropped."""
    out, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        out.append(current + line)
        current = ""
    if current:
        out.append(current)
    return out


def args_of(rest):
    """An instruction's arguments: the JSON (exec) form as a list, else the shell form split."""
    rest = rest.strip()
    if rest.startswith("["):
        return json.loads(rest)
    return shlex.split(rest)


def parse_dockerfile(text):
    stages = []
    for line in logical_lines(text):
        op, _, rest = line.partition(" ")
        op = op.upper()
        if op == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else str(len(stages))
            stages.append({"name": name, "base": parts[0], "steps": []})
        else:
            stages[-1]["steps"].append((op, rest.strip()))
    return stages


def ignore_rules(text):
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        rules.append((keep, line.lstrip("!").strip("/")))
    return rules


def sent(path, rules):
    """Whether `path` (relative, with /) is in the context: the last rule that matches it, or a
    directory above it, decides (Docker's .dockerignore; `*` matches within one level)."""
    verdict = True
    for keep, pattern in rules:
        parts = path.split("/")
        if any(fnmatch.fnmatchcase("/".join(parts[:i]), pattern) for i in range(1, len(parts) + 1)):
            verdict = keep
    return verdict


def context_files(rules):
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO,
                           capture_output=True, text=True, check=True).stdout.split()
    return sorted(f for f in files if (REPO / f).is_file() and sent(f, rules))


def copies_of(stage):
    """(sources, destination, from) of each COPY."""
    out = []
    for op, rest in stage["steps"]:
        if op != "COPY":
            continue
        args = args_of(rest)
        source_stage = None
        while args and args[0].startswith("--"):
            flag = args.pop(0)
            if flag.startswith("--from="):
                source_stage = flag.split("=", 1)[1]
        out.append((args[:-1], args[-1], source_stage))
    return out


def under(root, path):
    return root / path.lstrip("/")


def put(source, out):
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, out)


def play_build(stage, files, root, skip_first_run=False):
    """COPY and RUN of the build stage in `root`; returns the final WORKDIR."""
    workdir = "/"
    runs = 0
    for op, rest in stage["steps"]:
        if op == "WORKDIR":
            workdir = rest if rest.startswith("/") else os.path.join(workdir, rest)
            under(root, workdir).mkdir(parents=True, exist_ok=True)
        elif op == "COPY":
            (sources, dest, _), = copies_of({"steps": [(op, rest)]})
            target = under(root, dest if dest.startswith("/") else os.path.join(workdir, dest))
            for src in sources:
                src = src.rstrip("/")
                if src in files:
                    # A file: into the destination directory, or as the destination itself.
                    into_dir = dest.endswith("/") or len(sources) > 1 or target.is_dir()
                    put(REPO / src, target / Path(src).name if into_dir else target)
                    continue
                inside = [f for f in files if f.startswith(src + "/")]
                if not inside:
                    raise SystemExit(f"COPY {src}: not in the build context (.dockerignore leaves it out)")
                for f in inside:  # a directory: its contents under the destination
                    put(REPO / f, target / Path(f).relative_to(src))
        elif op == "RUN":
            runs += 1
            if skip_first_run and runs == 1:
                continue
            cwd = under(root, workdir)
            print(f"RUN (in {cwd}): {rest[:120]}", flush=True)
            env = dict(os.environ, CARGO_NET_OFFLINE="true")
            done = subprocess.run(["sh", "-c", rest], cwd=cwd, env=env,
                                  capture_output=True, text=True)
            if done.returncode != 0:
                return workdir, done.stderr
    return workdir, None


def check_context_agrees(stages, files):
    build = [c for s in stages for c in copies_of(s) if c[2] is None]
    named = [src.rstrip("/") for sources, _, _ in build for src in sources]
    stray = [f for f in files if not any(f == n or f.startswith(n + "/") for n in named)
             and f != ".dockerignore" and f != "Dockerfile"]
    missing = [n for n in named if not any(f == n or f.startswith(n + "/") for f in files)]
    assert not missing, f"COPY names what the context does not send: {missing}"
    assert not stray, f"the context sends what no COPY takes (extend .dockerignore): {stray[:10]}"
    print(f"context: {len(files)} files, exactly what {len(named)} COPY sources name")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, seconds=30):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def runtime_contract(stage, build_root, build_stage):
    steps = stage["steps"]
    get = lambda op: [rest for o, rest in steps if o == op]
    user = get("USER")[-1]
    uid = int(user.split(":")[0])
    workdir = get("WORKDIR")[-1]
    volumes = [v for rest in get("VOLUME") for v in args_of(rest)]
    env = {}
    for rest in get("ENV"):
        for kv in shlex.split(rest):
            k, _, v = kv.partition("=")
            env[k] = v
    entrypoint = args_of(get("ENTRYPOINT")[-1])
    cmd = args_of(get("CMD")[-1])
    health = get("HEALTHCHECK")[-1]
    health_cmd = args_of(health[health.index("CMD") + 3:])
    rt = Path(tempfile.mkdtemp(prefix="image-runtime-"))
    os.chmod(rt, 0o755)

    def mapped(value):
        """An image path under a volume or a copied file, in the temporary root."""
        for v in volumes + ["/usr/local/bin"]:
            if value == v or value.startswith(v + "/"):
                return str(under(rt, value))
        return value

    for sources, dest, source_stage in copies_of(stage):
        if source_stage == build_stage:
            for src in sources:
                out = under(rt, dest)
                out.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(under(build_root, src), out)
    for v in volumes:
        under(rt, v).mkdir(parents=True, exist_ok=True)
    # The data volume only the image's user can write; the configuration readable by it.
    data = under(rt, workdir)
    os.chown(data, uid, uid)
    os.chmod(data, 0o700)
    emulator_port = free_port()
    emulator = subprocess.Popen([BIN, "emulator", "--listen", f"127.0.0.1:{emulator_port}", "--site", "hq",
                                 "--pat-name", "scim", "--pat-secret", "pat-image-check"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs = [emulator]
    try:
        wait_for(f"http://127.0.0.1:{emulator_port}/api/3.24/serverinfo")
        listen = env["TABLEAU_SCIM_LISTEN"]
        port = int(listen.rsplit(":", 1)[1])
        config_path = Path(mapped(cmd[cmd.index("--config") + 1]))
        config_path.write_text(f"""
[server]
public_url = "http://127.0.0.1:{port}"
[[tenants]]
id = "hq"
tableau_url = "http://127.0.0.1:{emulator_port}"
site = "hq"
deployment = "server"
pat_name = "scim"
pat_secret = "pat-image-check"
token_hashes = ["{hashlib.sha256(SCIM_TOKEN.encode()).hexdigest()}"]
""")
        os.chmod(config_path, 0o644)
        run_env = {"PATH": f"{under(rt, '/usr/local/bin')}:/usr/bin:/bin", "HOME": str(data)}
        run_env.update({k: mapped(v) for k, v in env.items()})
        argv = entrypoint + [mapped(a) for a in cmd]
        print(f"as uid {uid} in {workdir}: {' '.join(argv)}", flush=True)
        log = open(rt / "serve.log", "w")
        server = subprocess.Popen(["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", *argv],
                                  cwd=data, env=run_env, stdout=log, stderr=log)
        procs.append(server)
        # The HEALTHCHECK itself, as the engine runs it (exec form, retried over its start period).
        deadline = time.time() + 30
        while True:
            ok = subprocess.run(health_cmd, capture_output=True).returncode == 0
            if ok:
                break
            if server.poll() is not None or time.time() > deadline:
                raise SystemExit(f"HEALTHCHECK never passed; the server said:\n{(rt / 'serve.log').read_text()[-3000:]}")
            time.sleep(0.5)
        print("HEALTHCHECK passed", flush=True)
        # An IdP's first requests: the user looked up, created, read back.
        base = f"http://127.0.0.1:{port}/scim/v2"
        def scim(method, path, body=None):
            req = urllib.request.Request(base + path, method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {SCIM_TOKEN}",
                                                  "Content-Type": "application/scim+json"})
            with urllib.request.urlopen(req, timeout=10) as r:
                return json.loads(r.read() or b"null")
        assert scim("GET", "/Users?filter=userName%20eq%20%22ana%40example.com%22")["totalResults"] == 0
        made = scim("POST", "/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                       "userName": "ana@example.com", "active": True,
                                       "roles": [{"value": "Viewer", "primary": True}]})
        assert scim("GET", f"/Users/{made['id']}")["userName"] == "ana@example.com"
        owned = {p.name: p.stat().st_uid for p in data.iterdir()}
        assert owned and all(u == uid for u in owned.values()), f"the store is written by uid {uid}: {owned}"
        print(f"an IdP's create through the image's contract: done; the store ({', '.join(owned)}) is uid {uid}'s")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    return rt


def main():
    stages = parse_dockerfile((REPO / "Dockerfile").read_text())
    rules = ignore_rules((REPO / ".dockerignore").read_text())
    files = context_files(rules)
    check_context_agrees(stages, files)
    build, runtime = stages[0], stages[-1]

    root = KEEP / "good"
    # A run before left cargo's target (kept, as a layer cache would be); all else goes.
    if root.exists():
        for child in root.rglob("*"):
            if child.is_file() and "target" not in child.relative_to(root).parts:
                child.unlink()
    root.mkdir(parents=True, exist_ok=True)
    started = time.time()
    workdir, failed = play_build(build, files, root)
    assert failed is None, f"the build stage failed:\n{failed[-4000:]}"
    print(f"build stage: done in {time.time() - started:.0f} s", flush=True)
    rt = runtime_contract(runtime, root, build["name"])

    # templates/ left out: of the context, COPY refuses (as Docker's does); of the context and
    # the Dockerfile (the Dockerfile that shipped without it), the build fails and says why.
    without = [f for f in files if not f.startswith("templates/")]
    try:
        play_build(build, without, Path(tempfile.mkdtemp(prefix="image-no-context-")), skip_first_run=True)
        raise AssertionError("COPY templates passed with templates/ out of the context")
    except SystemExit as refused:
        assert "templates" in str(refused), refused
        print(f"without templates/ in the context: {refused}")
    bad = Path(tempfile.mkdtemp(prefix="image-without-templates-"))
    shutil.copytree(under(root, workdir) / "target", under(bad, workdir) / "target", copy_function=os.link)
    forgetful = dict(build, steps=[(op, rest) for op, rest in build["steps"]
                                   if not (op == "COPY" and args_of(rest)[0].startswith("templates"))])
    _, failed = play_build(forgetful, without, bad, skip_first_run=True)
    assert failed is not None, "the build passed without templates/: the check cannot see a missing directory"
    assert "template" in failed and "not found" in failed, failed[-2000:]
    print("without templates/ at all, the build stage fails: "
          + next(l for l in failed.splitlines() if "not found" in l).strip())
    shutil.rmtree(bad)
    shutil.rmtree(rt)
    print("image check: passed")


if __name__ == "__main__":
    main()
