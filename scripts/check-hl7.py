#!/usr/bin/env python3
"""Reads every HL7 v2 sample of testing-lab with an independent parser,
hl7apy (PyPI), as a laboratory interface engineer's tools would: each
ORU^R01 must parse and validate strictly against HL7 2.5.1, and yield the
facts listed in samples/oru/expected.json, which the Rust parser's test
(services/testing-lab/src/hl7/tests.rs) checks too. Two parsers agreeing on
the same table is what says the samples are real HL7 and the parser reads
them right. Usage: python3 scripts/check-hl7.py (installs hl7apy if needed).
"""
import glob
import json
import os
import subprocess
import sys

try:
    import hl7apy  # noqa: F401
except ImportError:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "hl7apy==1.3.5"])

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

ROOT = os.path.join(os.path.dirname(__file__), "..", "services", "testing-lab", "samples", "oru")


def segments(element, name):
    """Every segment called `name` below `element`, in order."""
    out = []
    for child in element.children:
        if child.name == name:
            out.append(child)
        elif getattr(child, "children", None) is not None and child.classname != "Segment":
            out.extend(segments(child, name))
    return out


def first_component(field):
    value = field.value if field is not None else ""
    return value.split("~")[0].split("^")[0]


def facts(message):
    pid = segments(message, "PID")[0]
    obr = segments(message, "OBR")[0]
    return {
        "control_id": message.msh.msh_10.value,
        "patient_id": first_component(pid.pid_3),
        "placer_order": first_component(obr.obr_2),
        "filler_order": first_component(obr.obr_3),
        "observations": [
            [first_component(o.obx_3), o.obx_5.value] for o in segments(message, "OBX")
        ],
    }


def main():
    with open(os.path.join(ROOT, "expected.json"), encoding="utf-8") as f:
        expected = json.load(f)
    files = sorted(glob.glob(os.path.join(ROOT, "*.hl7")))
    if sorted(os.path.basename(f) for f in files) != sorted(expected):
        sys.exit(f"samples and expected.json differ: {files} vs {sorted(expected)}")
    for path in files:
        name = os.path.basename(path)
        with open(path, newline="", encoding="utf-8") as f:
            text = f.read()
        message = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        message.validate()
        if message.name != "ORU_R01":
            sys.exit(f"{name}: {message.name}, not ORU_R01")
        got = facts(message)
        if got != expected[name]:
            sys.exit(f"{name}: hl7apy reads {json.dumps(got)}, expected {json.dumps(expected[name])}")
    print(f"hl7apy: {len(files)} ORU^R01 samples parse, validate (2.5.1, strict) and agree")


if __name__ == "__main__":
    main()
