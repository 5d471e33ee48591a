"""The JUnit XML report: one test case per scenario run, one per gate.

Layout: ``<testsuites name="wschaos">`` holding a ``wschaos.scenarios`` suite (test case name =
scenario name, ``#N`` appended for repeats; a ``<failure>`` per failed run whose message is the
first failure and whose text lists them all; the figures in ``<system-out>``) and, when gates
were given, a ``wschaos.gates`` suite (one case per gate expression).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from chaos.outcomes import RunResult

__all__ = ["run_to_junit", "write_junit"]


def run_to_junit(run: RunResult) -> str:
    """The report as an XML document (UTF-8 declaration included)."""
    repeats = any(result.iteration > 1 for result in run.results)
    root = ET.Element("testsuites", name="wschaos")
    scenarios = ET.SubElement(root, "testsuite", name="wschaos.scenarios")
    failures = 0
    for result in run.results:
        name = f"{result.name} #{result.iteration}" if repeats else result.name
        case = ET.SubElement(
            scenarios,
            "testcase",
            classname="wschaos.scenarios",
            name=name,
            file=result.path,
            time=f"{result.duration:.3f}",
        )
        if result.failures:
            failures += 1
            failure = ET.SubElement(case, "failure", message=result.failures[0].message)
            failure.set("type", "ScenarioFailed")
            failure.text = "\n".join(f.message for f in result.failures)
        out = ET.SubElement(case, "system-out")
        out.text = f"time_scale {result.time_scale:g}\n" + json.dumps(
            result.figures.to_json(), indent=1
        )
    scenarios.set("tests", str(len(run.results)))
    scenarios.set("failures", str(failures))
    scenarios.set("errors", "0")
    scenarios.set("time", f"{sum(r.duration for r in run.results):.3f}")
    total_tests, total_failures = len(run.results), failures
    if run.gates:
        gates = ET.SubElement(root, "testsuite", name="wschaos.gates")
        gate_failures = 0
        for gate in run.gates:
            case = ET.SubElement(
                gates, "testcase", classname="wschaos.gates", name=gate.gate.expression, time="0"
            )
            if not gate.passed:
                gate_failures += 1
                failure = ET.SubElement(case, "failure", message=gate.describe())
                failure.set("type", "GateNotMet")
        gates.set("tests", str(len(run.gates)))
        gates.set("failures", str(gate_failures))
        gates.set("errors", "0")
        gates.set("time", "0")
        total_tests += len(run.gates)
        total_failures += gate_failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "0")
    root.set("time", f"{run.duration:.3f}")
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(run: RunResult, path: str | Path) -> None:
    """Write the report to ``path`` (parent directories created)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(run_to_junit(run), encoding="utf-8")
