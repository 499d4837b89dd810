"""The bundled spec library: found by name, imported as archc:NAME, shipped in the wheel; imports
read only from the top spec's folder, the library and ARCHC_SPEC_PATH, symlinks followed."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from archc.compile import compile_spec
from archc.errors import SpecError
from archc.lang.library import bundled

ROOT = Path(__file__).resolve().parent.parent
USER = """name: mine
input: [3, 224, 224]
stages:
  - id: backbone
    import: {what}
    stages: [features]
  - id: head
    rows:
      - {{op: pool_conv, c: 10}}
"""


def test_bundled_is_the_repository_specs_folder():
    specs = bundled()
    assert {"mobilenetv2", "shufflenetv2", "enet", "fastscnn"} <= set(specs)
    assert specs["enet"].read_text() == (ROOT / "specs" / "enet.yaml").read_text()
    assert (ROOT / "archc" / "specs").resolve() == (ROOT / "specs").resolve()


def test_import_by_library_name_from_a_project_folder(tmp_path):
    (tmp_path / "mine.yaml").write_text(USER.format(what="archc:mobilenetv2"))
    c = compile_spec(tmp_path / "mine.yaml")
    backbone = compile_spec("specs/mobilenetv2.yaml").report.stages()["features"]
    assert c.report.stages()["features"] == backbone
    assert c.graph.shape(c.graph.outputs[0]) == (10,)


def test_an_unknown_library_name_says_what_there_is(tmp_path):
    (tmp_path / "mine.yaml").write_text(USER.format(what="archc:mobilenetv"))
    with pytest.raises(SpecError, match=r"mine.yaml:5:\d+: import 'archc:mobilenetv': no bundled spec .*did you mean"):
        compile_spec(tmp_path / "mine.yaml")


def test_a_symlink_into_the_library_is_followed(tmp_path):
    (tmp_path / "mnv2.yaml").symlink_to(ROOT / "specs" / "mobilenetv2.yaml")
    (tmp_path / "mine.yaml").write_text(USER.format(what="mnv2.yaml"))
    assert compile_spec(tmp_path / "mine.yaml").report.params > 2_000_000


def test_a_symlink_elsewhere_is_refused_unless_its_folder_is_trusted(tmp_path, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "net.yaml").write_text((ROOT / "specs" / "mobilenetv2.yaml").read_text())
    project = tmp_path / "project"
    project.mkdir()
    (project / "net.yaml").symlink_to(elsewhere / "net.yaml")
    (project / "mine.yaml").write_text(USER.format(what="net.yaml"))
    with pytest.raises(SpecError, match="outside .*ARCHC_SPEC_PATH"):
        compile_spec(project / "mine.yaml")
    monkeypatch.setenv("ARCHC_SPEC_PATH", str(elsewhere))
    assert compile_spec(project / "mine.yaml").report.params > 2_000_000


@pytest.mark.slow
def test_the_wheel_ships_the_specs(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, capture_output=True, timeout=240)
    names = zipfile.ZipFile(next(tmp_path.glob("archc-*.whl"))).namelist()
    shipped = {Path(n).stem for n in names if n.startswith("archc/specs/") and n.endswith(".yaml")}
    assert shipped == set(bundled())


OVERRIDE = """name: mine
input: [3, 224, 224]
vars: {eps: 0.01}
stages:
  - id: backbone
    import: archc:mobilenetv3_large
    stages: [features]
    WHAT
"""


def test_an_import_sets_the_imported_stages_defaults(tmp_path):
    (tmp_path / "mine.yaml").write_text(OVERRIDE.replace("WHAT", "defaults: {eps: $eps, momentum: 0.01}"))
    graph = compile_spec(tmp_path / "mine.yaml").graph
    bns = [n for n in graph if n.op == "bn"]
    assert len(bns) > 40 and all(n.attrs["eps"] == 0.01 for n in bns)  # over the spec's own defaults: eps 0.001
    assert graph["features.0.0.bn"].attrs["momentum"] == 0.01  # the rows whose op takes momentum


@pytest.mark.parametrize("what,error", [
    ("vars: {eps: 0.01}", r"mine.yaml:8:\d+: import .*mobilenetv3_large.yaml: vars.eps: the spec has no variable "
                          r"'eps' .*import's defaults"),
    ("defaults: {epss: 0.01}", r"mine.yaml:8:\d+: defaults.epss: no imported row takes 'epss'"),
    ("defaults: {eps: true}", r"mine.yaml:8:\d+: .*'eps' must be a float"),
])
def test_import_override_errors_point_at_the_importing_line(tmp_path, what, error):
    (tmp_path / "mine.yaml").write_text(OVERRIDE.replace("WHAT", what))
    with pytest.raises(SpecError, match=error):
        compile_spec(tmp_path / "mine.yaml")
