"""The Neam language: parser, checker, compiled form (.neamb) and interpreter.

Public API (other packages import only these names)::

    from neam.lang import compile_source, compile_file, load_program
    from neam.lang import Interpreter, NeamRuntimeError, NeamCompileError
"""

from neam.lang.diagnostics import Diagnostic, NeamCompileError
from neam.lang.interpreter import Interpreter, NeamRuntimeError
from neam.lang.program import (
    AgentDecl,
    CompileResult,
    Program,
    SkillDecl,
    compile_file,
    compile_source,
    load_program,
)

__all__ = [
    "AgentDecl",
    "CompileResult",
    "Diagnostic",
    "Interpreter",
    "NeamCompileError",
    "NeamRuntimeError",
    "Program",
    "SkillDecl",
    "compile_file",
    "compile_source",
    "load_program",
]
