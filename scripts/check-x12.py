#!/usr/bin/env python3
"""Validates the X12 5010 files the billing service writes (837I, 837P) and
the 835s it reads with an independent validator, pyx12 (PyPI), as a
clearinghouse's front-end edits would before accepting a file.

Usage: python3 scripts/check-x12.py FILE [FILE...]   (installs pyx12 if needed)

Each file is walked against the implementation-guide map pyx12 picks from the
file's own ISA12 / GS01 / GS08 (005010X222A1 -> 837P, 005010X223A2 -> 837I,
005010X221A1 -> 835): envelope counts and control numbers (SE01, ST02=SE02,
GE01, GS06=GE02, IEA01, ISA13=IEA02), HL01 sequence and HL02 parents, 837P
LX01 numbering, loop and segment order, required and not-used segments and
elements as the map marks them, code lists, lengths, dates and times.

pyx12 has no warning level: everything it reports is an error that would
reject the transaction set in its 999. So each finding is printed (segment
number in the file, segment id and loop path, element, message) and fails the
run (exit 1); a file passes only with no finding at all. A file also fails if
pyx12 cannot identify its transaction: pyx12 has no 5010 map for some
transactions, 270/271 (005010X279A1) among them.

pyx12 checks no business rules: NPI check digits, claim totals, 835
balancing, or the conditions of situational segments (e.g. N3/N4 of a
subscriber who is the patient). The billing service's own tests check those.
"""
import logging
import os
import subprocess
import sys

PYX12 = "4.0.0"

try:
    import pyx12  # noqa: F401
except ImportError:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", f"pyx12=={PYX12}"])

import pyx12.errors
import pyx12.params
import pyx12.x12n_document


class Collect(logging.Handler):
    """Keeps what pyx12 logs: it logs every finding once, at ERROR level."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def loop_path(node):
    """'2000A/2000B/2300/2400/DTP[472]' from a map node, without the envelope."""
    parts = node.get_path().strip("/").split("/")
    skip = {"ISA_LOOP", "GS_LOOP", "ST_LOOP", "HEADER", "DETAIL", "FOOTER"}
    return "/".join(p for p in parts if p not in skip and not p.startswith("TABLE"))


def check(path):
    """Returns the list of problems pyx12 finds in one file (empty: passes)."""
    where = {}  # segment number in the file -> "SEG at loop path" pyx12 matched it to
    maps = set()  # ids of the maps the segments were walked against

    def seen(seg, src, node, valid):
        where[src.get_cur_line()] = f"{seg.get_seg_id()} at {loop_path(node)}"
        root = node
        while root.parent is not None:
            root = root.parent
        maps.add(root.id)

    log = Collect()
    logger = logging.getLogger("pyx12")
    logger.addHandler(log)
    logger.propagate = False
    try:
        ok = pyx12.x12n_document.x12n_document(
            param=pyx12.params.params(), src_file=path, fd_997=None, fd_html=None, callback=seen
        )
    except pyx12.errors.EngineError as err:  # raised for a GS08 it has no map for
        return [f"pyx12 could not identify the transaction: {err}"]
    except pyx12.errors.X12Error as err:  # raised for a malformed envelope
        return [f"pyx12 cannot read the file: {err}"]
    except Exception as err:  # pyx12 crashes on some broken envelopes (e.g. no GS)
        return [f"pyx12 failed on the file: {type(err).__name__}: {err}"]
    finally:
        logger.removeHandler(log)
    problems = []
    for msg in log.messages:  # "Line:25 ELE:8 - Data element ... (DTP03) ..."
        line, _, rest = msg.partition(" ")
        if line.startswith("Line:") and line[5:].isdigit():
            n = int(line[5:])
            msg = f"segment {n} ({where.get(n, 'not matched')}): {rest}"
        problems.append(msg)
    if not maps - {"X12"}:
        problems.append("pyx12 walked no transaction set against an implementation guide map")
    if not ok and not problems:
        problems.append("pyx12 rejected the file without saying why")
    return problems


def main(files):
    if not files:
        sys.exit(__doc__)
    failed = 0
    for path in files:
        problems = check(path) if os.path.isfile(path) else ["no such file"]
        print(f"{path}: {'OK' if not problems else f'{len(problems)} error(s)'}")
        for p in problems:
            print(f"  {p}")
        failed += bool(problems)
    print(f"pyx12 {pyx12.__version__}: {len(files) - failed} of {len(files)} file(s) valid")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main(sys.argv[1:])
