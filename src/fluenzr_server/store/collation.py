"""The one collation of text sorts, as SQL that means the same on SQLite and PostgreSQL.

`FoldedText(column)` folds A-Z to a-z and compares by code point (UTF-8 byte order: SQLite's BINARY,
PostgreSQL's "C" collation, whatever the database's locale); `CodePointOrder(column)` compares by code
point without folding (ids). Used by `store.paging` to sort and by `store.tables` for the indexes that
serve those sorts, so that index and query are the same expression.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class FoldedText(FunctionElement[str]):
    """A text column as it sorts: `lower(x)` (ASCII letters only) in code point order, on both databases."""

    type = String()
    name = "folded_text"
    inherit_cache = True


class CodePointOrder(FunctionElement[str]):
    """A text column compared by code point (for ids), on both databases."""

    type = String()
    name = "code_point_order"
    inherit_cache = True


@compiles(FoldedText)
def _folded_sqlite(element: FoldedText, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"  # BINARY collation: code point order


@compiles(FoldedText, "postgresql")
def _folded_postgresql(element: FoldedText, compiler: SQLCompiler, **kw: Any) -> str:
    # Under "C", lower() folds A-Z only (as SQLite's does) and comparison is by byte, whatever the locale.
    return f'lower({compiler.process(element.clauses, **kw)} COLLATE "C")'


@compiles(CodePointOrder)
def _code_point_sqlite(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(CodePointOrder, "postgresql")
def _code_point_postgresql(element: CodePointOrder, compiler: SQLCompiler, **kw: Any) -> str:
    return f'({compiler.process(element.clauses, **kw)} COLLATE "C")'
