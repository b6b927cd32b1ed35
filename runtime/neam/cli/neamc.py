"""``neamc``: check Neam programs and compile them to ``.neamb``.

Usage::

    neamc check FILE... [--json]            exit 0 clean, 1 errors, 2 usage
    neamc compile FILE... [-o OUT.neamb | --output DIR/]
    neamc FILE -o OUT.neamb                 (same as ``compile``)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from neam.lang import CompileResult, Diagnostic, compile_file
from neam.lang.neamb import NeambError, write_neamb

_COMMANDS = ("check", "compile")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neamc", description="Check and compile Neam programs.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="report errors and warnings")
    check.add_argument("files", nargs="+", metavar="FILE")
    check.add_argument("--json", action="store_true", help="print diagnostics as JSON")
    comp = sub.add_parser("compile", help="write the compiled .neamb form")
    comp.add_argument("files", nargs="+", metavar="FILE")
    out = comp.add_mutually_exclusive_group()
    out.add_argument("-o", dest="out", metavar="OUT", help="output file (one input) or DIR/")
    out.add_argument("--output", dest="out_dir", metavar="DIR", help="output directory")
    comp.add_argument("--json", action="store_true", help="print diagnostics as JSON")
    return parser


def _compile(path: str) -> CompileResult:
    try:
        return compile_file(path)
    except OSError as err:
        reason = err.strerror or str(err)
        diag = Diagnostic(path, 1, 1, 1, 1, "error", "read-error", f"cannot read file: {reason}")
        return CompileResult([diag], None, "")


def _report(results: list[CompileResult], as_json: bool) -> None:
    diagnostics = [d for r in results for d in r.diagnostics]
    if as_json:
        doc = {
            "ok": all(r.ok for r in results),
            "errors": sum(len(r.errors) for r in results),
            "warnings": sum(len(r.warnings) for r in results),
            "diagnostics": [d.to_dict() for d in diagnostics],
        }
        print(json.dumps(doc, indent=2))
        return
    for r in results:
        if r.diagnostics:
            print(r.format(), file=sys.stderr)


def _targets(files: list[str], out: str | None, out_dir: str | None) -> list[Path]:
    directory = out_dir
    if out is not None and (out.endswith(("/", "\\")) or Path(out).is_dir()):
        directory = out
    if directory is not None:
        return [Path(directory) / (Path(f).stem + ".neamb") for f in files]
    if out is not None:
        return [Path(out)]
    return [Path(f).with_suffix(".neamb") for f in files]


def main(argv: list[str] | None = None) -> int:
    args_in = list(sys.argv[1:] if argv is None else argv)
    if args_in and args_in[0] not in _COMMANDS and not args_in[0].startswith("-"):
        args_in.insert(0, "compile")  # chapter 20: `neamc src/main.neam -o src/main.neamb`
    parser = _parser()
    try:
        args = parser.parse_args(args_in)
    except SystemExit as exc:
        return 0 if exc.code == 0 else 2
    if (
        args.command == "compile"
        and args.out is not None
        and len(args.files) > 1
        and not (args.out.endswith(("/", "\\")) or Path(args.out).is_dir())
    ):
        parser.print_usage(sys.stderr)
        print("neamc: -o names one output file; use --output DIR/ for several", file=sys.stderr)
        return 2
    results = [_compile(f) for f in args.files]
    _report(results, args.json)
    if not all(r.ok for r in results):
        if not args.json:
            errors = sum(len(r.errors) for r in results)
            print(f"neamc: {errors} error(s)", file=sys.stderr)
        return 1
    if args.command == "compile":
        for result, target in zip(
            results, _targets(args.files, args.out, args.out_dir), strict=True
        ):
            assert result.program is not None
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                write_neamb(result.program, target)
            except NeambError as err:
                print(f"neamc: {result.program.filename}: {err}", file=sys.stderr)
                return 1
            except OSError as err:
                print(f"neamc: cannot write {target}: {err.strerror or err}", file=sys.stderr)
                return 1
            if not args.json:
                print(f"neamc: wrote {target}", file=sys.stderr)
    elif not args.json:
        print(f"neamc: {len(results)} file(s) OK", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
