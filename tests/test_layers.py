"""The package's layers (docs/design.md, "Layers"): no module imports from a
layer above its own, and every module has a layer."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import rtcstate

PACKAGE = Path(rtcstate.__file__).parent

#: layer -> modules, lowest first; as the table in docs/design.md
LAYERS: list[set[str]] = [
    {"states", "_events", "rules", "_graphs"},  # the spec: enums, records, tables
    {
        "_machine",
        "liveness",
        "_stun",
        "_options",
        "_restart_state",
        "_ice_servers",
        "_netlink",
    },  # sans-IO cores
    # the aiortc edge, the I/O adapters
    {
        "_shims",
        "_shims._base",
        "_shims.life",
        "_shims.mdns",
        "_shims.pair",
        "_shims.peerconnection",
        "_shims.restart",
        "_shims.sctp",
        "_shims.stats",
        "_shims.gather",
        "_tap",
        "_transports",
        "_driver",
        "_transport_liveness",
        "_feed",
        "stats",
        "_restart",
        "_signalling",
        "_tracked",
        "_remote",
        "_datapath",
        "_responder",
        "_guards",
        "_readout",
        "_observers",
        "_failsafe",
        "_resend",
        "_gathering",
        "_netmon",
    },
    {"_tracker"},  # wiring
    # the front ends, and the recovery policy over them
    {
        "_frontend",
        "_emitter",
        "validation",
        "_peerconnection",
        "_watcher",
        "_recovery",
        "__init__",
    },
    {
        "testing",
        "testing.faults",
        "testing.link",
        "testing.negotiation",
        "testing.timers",
        "metrics",
        "tools",
        "tools.cli",
        "tools.demo",
        "tools.timeline",
        "tools.timeline.drawing",
        "tools.timeline.layout",
        "tools.timeline.page",
        "tools.timeline.recording",
        "tools.timeline.style",
        "__main__",
    },
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        found[name.removesuffix(".__init__") or "__init__"] = path
    return found


def _layer(module: str) -> int:
    for index, modules in enumerate(LAYERS):
        if module in modules:
            return index
    raise AssertionError(f"rtcstate.{module} has no layer in tests/test_layers.py")


def _imports(module: str, path: Path) -> set[str]:
    """The rtcstate modules ``module`` imports (relative or absolute)."""
    package = module.split(".")[:-1] if path.name != "__init__.py" else [module]
    if module == "__init__":
        package = []
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
            elif node.module and node.module.startswith("rtcstate"):
                base = []
                node_module = node.module.removeprefix("rtcstate").lstrip(".")
                target = [*base, *node_module.split(".")] if node_module else base
                out.update(_targets(target, node))
                continue
            else:
                continue
            target = [*base, *(node.module.split(".") if node.module else [])]
            out.update(_targets(target, node))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("rtcstate."):
                    out.add(alias.name.removeprefix("rtcstate."))
    return out - {module}


def _targets(target: list[str], node: ast.ImportFrom) -> set[str]:
    """``from <target> import <names>``: the package or module, and any of the
    names that are modules themselves (``from . import rules``)."""
    modules = _modules()
    name = ".".join(target)
    found = {name} if name and name in modules else set()
    for alias in node.names:
        submodule = ".".join([*target, alias.name])
        if submodule in modules:
            found.add(submodule)
    return found


@pytest.mark.parametrize("module", sorted(_modules()))
def test_no_module_imports_from_a_layer_above_its_own(module: str) -> None:
    own = _layer(module)
    above = {
        imported
        for imported in _imports(module, _modules()[module])
        if _layer(imported) > own
    }
    assert not above, f"rtcstate.{module} (layer {own}) imports {sorted(above)}"


def test_the_check_reads_every_form_of_import(tmp_path: Path) -> None:
    assert {"_machine", "_transports", "_tracked"} <= _imports(
        "_tracker", _modules()["_tracker"]
    )
    source = tmp_path / "x.py"
    source.write_text(
        "from . import rules\nfrom ._tracker import StateTracker\n"
        "import rtcstate._watcher\nfrom rtcstate.tools import demo\n"
    )
    assert _imports("_machine", source) == {
        "rules",
        "_tracker",
        "_watcher",
        "tools",
        "tools.demo",
    }
    assert _layer("_tracker") > _layer("_machine")


def test_implementation_modules_are_named_as_private() -> None:
    # the modules applications import: the package, and those its
    # documentation's API reference names (docs/api.md)
    public = {
        "__init__",
        "__main__",
        "states",
        "rules",
        "liveness",
        "stats",
        "validation",
        "metrics",
    }
    tops = {name.split(".")[0] for name in _modules()}
    named = {m for m in tops if not m.startswith("_") and m not in public}
    assert named <= {"testing", "tools"}, sorted(named)
