"""`make zip`: the installable plugin zip (mapbridge/…): files tracked by git, minus what .gitattributes marks
export-ignore (tests, sandbox, tools, …). Untracked files never go in, whatever lies in the checkout.

The README inside the zip links to the repository for files the zip does not carry (screenshots, …), and
metadata.txt's changelog must say what CHANGELOG.md says: `--check-changelog` checks, `--sync-changelog` rewrites it.
"""

from __future__ import annotations

import configparser
import re
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)(\))")


def _git(root, *args, stdin=None):
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, input=stdin).stdout


def plugin_files(root=ROOT):
    """(name, path) of every tracked file that belongs in the installed plugin."""
    names = [n for n in _git(root, "ls-files", "--cached", "-z").decode().split("\0") if n]
    ignored = _git(root, "check-attr", "-z", "export-ignore", "--stdin", stdin="\0".join(names).encode())
    fields = ignored.decode().split("\0")
    excluded = {fields[i] for i in range(0, len(fields) - 2, 3) if fields[i + 2] == "set"}
    for name in sorted(set(names) - excluded):
        path = root / name
        if path.is_file() and "__pycache__" not in name:
            yield name, path


def metadata(root=ROOT):
    """metadata.txt's [general] section."""
    meta = configparser.ConfigParser(interpolation=None)
    meta.read(root / "metadata.txt", encoding="utf-8")
    return meta["general"]


def readme_for_zip(text, shipped, repository):
    """The README with links to files the zip does not carry pointed at the repository instead."""
    def fix(match):
        target = match.group(2)
        if re.match(r"^[a-z]+:|^#", target) or target.split("#")[0] in shipped:
            return match.group(0)
        kind = "raw" if match.group(1).startswith("!") else "blob"   # images must load, links may show a page
        return f"{match.group(1)}{repository.rstrip('/')}/{kind}/main/{target}{match.group(3)}"
    return LINK.sub(fix, text)


def changelog_entries(text):
    """{version: one-line summary} from CHANGELOG.md's released sections (### lines and bullets joined)."""
    entries, version, parts = {}, None, []
    for line in text.splitlines() + ["## [end]"]:
        heading = re.match(r"^## \[([^\]]+)\]", line)
        if heading:
            if version and version.lower() != "unreleased" and parts:
                entries[version] = " ".join(parts)
            version, parts = heading.group(1), []
        elif version and line.strip().startswith("- "):
            parts.append(line.strip()[2:])
        elif version and parts and line.startswith("  ") and line.strip():
            parts[-1] += " " + line.strip()
    return entries


def metadata_changelog(meta):
    """{version: text} of metadata.txt's changelog ("version - text" entries)."""
    entries = {}
    for line in (meta.get("changelog") or "").strip().splitlines():
        match = re.match(r"^\s*(\S+) - (.*)$", line)
        if match:
            entries[match.group(1)] = match.group(2).strip()
    return entries


def changelog_mismatches(root=ROOT):
    """What differs between CHANGELOG.md and metadata.txt's changelog (empty when they agree)."""
    wanted = changelog_entries((root / "CHANGELOG.md").read_text(encoding="utf-8"))
    meta = metadata(root)
    have = metadata_changelog(meta)
    problems = []
    if meta["version"] not in wanted:
        problems.append(f"version {meta['version']} has no released section in CHANGELOG.md")
    for version, text in wanted.items():
        if have.get(version) != text:
            problems.append(f"metadata.txt changelog for {version} should read: {version} - {text}")
    problems += [f"metadata.txt lists {v}, CHANGELOG.md does not" for v in have if v not in wanted]
    return problems


def sync_changelog(root=ROOT):
    """Rewrite metadata.txt's changelog from CHANGELOG.md (newest first), leaving the rest of the file as it is."""
    entries = changelog_entries((root / "CHANGELOG.md").read_text(encoding="utf-8"))
    path = root / "metadata.txt"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("changelog="))
    end = start + 1
    while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
        end += 1
    block = ["changelog="] + [f"    {version} - {text}" for version, text in entries.items()]
    path.write_text("\n".join(lines[:start] + block + lines[end:]) + "\n", encoding="utf-8")


def build(out_dir, root=ROOT):
    """Write dist/mapbridge-<version>.zip and return its path."""
    meta = metadata(root)
    target = Path(out_dir) / f"mapbridge-{meta['version']}.zip"
    target.parent.mkdir(parents=True, exist_ok=True)
    files = list(plugin_files(root))
    shipped = {name for name, _ in files}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in files:
            if name == "README.md":
                text = readme_for_zip(path.read_text(encoding="utf-8"), shipped, meta["repository"])
                archive.writestr(f"mapbridge/{name}", text)
            else:
                archive.write(path, f"mapbridge/{name}")
    return target


if __name__ == "__main__":
    if sys.argv[1:2] == ["--sync-changelog"]:
        sync_changelog()
    if sys.argv[1:2] in (["--check-changelog"], ["--sync-changelog"]):
        mismatches = changelog_mismatches()
        sys.stdout.write("".join(f"{m}\n" for m in mismatches) or "changelog: metadata.txt matches CHANGELOG.md\n")
        sys.exit(1 if mismatches else 0)
    sys.stdout.write(f"{build(sys.argv[1] if len(sys.argv) > 1 else ROOT / 'dist')}\n")
