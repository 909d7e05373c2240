"""Lexer for the Go ``text/template`` subset: text, ``{{ actions }}``, trim markers, comments."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from sloguard.rules._errors import RulesError


class TemplateSyntaxError(RulesError):
    """A template that does not parse; ``str()`` is Go's ``template: NAME:LINE: problem``."""


class Tok(enum.Enum):
    TEXT = "text"
    LEFT = "{{"
    RIGHT = "}}"
    IDENT = "identifier"
    FIELD = "field"
    VAR = "variable"
    DOT = "."
    STRING = "string"
    RAW = "raw string"
    CHAR = "char"
    NUMBER = "number"
    BOOL = "bool"
    NIL = "nil"
    LPAREN = "("
    RPAREN = ")"
    PIPE = "|"
    DECLARE = ":="
    ASSIGN = "="
    COMMA = ","
    KEYWORD = "keyword"
    CHAR_ITEM = "character"
    ERROR = "error"
    EOF = "EOF"


KEYWORDS = frozenset({"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"})


@dataclass(frozen=True, slots=True)
class Token:
    kind: Tok
    val: str
    pos: int
    line: int


_INSIDE = re.compile(
    r"""(?P<space>\s+)
    |(?P<raw>`[^`]*`)
    |(?P<string>"(?:[^"\\\n]|\\.)*")
    |(?P<char>'(?:[^'\\\n]|\\.)*')
    |(?P<var>\$[A-Za-z0-9_]*)
    |(?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
    |(?P<number>[+-]?(?:0[xX][0-9a-fA-F_]+|(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<declare>:=)
    |(?P<punct>[()|=,.])
    """,
    re.VERBOSE,
)
_PUNCT = {"(": Tok.LPAREN, ")": Tok.RPAREN, "|": Tok.PIPE, "=": Tok.ASSIGN, ",": Tok.COMMA, ".": Tok.DOT}


def lex(text: str, name: str) -> list[Token]:
    """Split ``text`` into tokens; raises :class:`TemplateSyntaxError` with Go's wording."""
    toks: list[Token] = []
    i = 0
    n = len(text)
    while i < n:
        j = text.find("{{", i)
        if j < 0:
            toks.append(Token(Tok.TEXT, text[i:], i, _line(text, i)))
            break
        trim_left = text.startswith("{{- ", j) or text.startswith("{{-\t", j) or text.startswith("{{-\n", j)
        chunk = text[i:j].rstrip() if trim_left else text[i:j]
        if chunk:
            toks.append(Token(Tok.TEXT, chunk, i, _line(text, i)))
        try:
            i = _lex_action(text, j + (3 if trim_left else 2), j, name, toks)
        except TemplateSyntaxError as e:
            # Go lexes lazily: the parser meets this error only when it reaches it
            toks.append(Token(Tok.ERROR, str(e), len(text), _line(text, len(text))))
            return toks
    toks.append(Token(Tok.EOF, "", n, _line(text, n)))
    return toks


def _line(text: str, pos: int) -> int:
    return 1 + text.count("\n", 0, pos)


def _lex_action(text: str, i: int, start: int, name: str, toks: list[Token]) -> int:
    """Lex one action starting after ``{{``; returns the index after ``}}`` (and trimming)."""
    line = _line(text, start)
    stripped = text[i:].lstrip()
    if stripped.startswith("/*"):
        end = text.find("*/", i)
        if end < 0:
            raise TemplateSyntaxError(f"template: {name}:{line}: unclosed comment")
        k = end + 2
        return _close(text, k, start, name, toks, emit=False)
    toks.append(Token(Tok.LEFT, "{{", start, line))
    while True:
        if text.startswith("}}", i) or text.startswith(" -}}", i) or (
            text.startswith("-}}", i) and text[i - 1] in " \t\r\n"
        ):
            return _close(text, i, start, name, toks, emit=True)
        if i >= len(text):
            raise TemplateSyntaxError(f"template: {name}:{line}: unclosed action")
        m = _INSIDE.match(text, i)
        if m is None:
            c = text[i]
            if c == "\n":
                raise TemplateSyntaxError(f"template: {name}:{line}: unclosed action")
            if c.isascii() and c.isprintable():
                # Go's lexer emits other printable ASCII as a char item; the parser then
                # reports it in context ("unexpected \"}\" in operand").
                toks.append(Token(Tok.CHAR_ITEM, c, i, _line(text, i)))
                i += 1
                continue
            raise TemplateSyntaxError(f"template: {name}:{line}: unrecognized character in action: {_go_rune(c)}")
        kind = m.lastgroup
        val = m.group()
        if kind != "space":
            toks.append(Token(_kind(kind, val), val, i, _line(text, i)))
        i = m.end()


def _go_rune(c: str) -> str:
    return f"U+{ord(c):04X} '{c}'"


def _kind(kind: str | None, val: str) -> Tok:
    if kind == "ident":
        if val in ("true", "false"):
            return Tok.BOOL
        if val == "nil":
            return Tok.NIL
        return Tok.KEYWORD if val in KEYWORDS else Tok.IDENT
    if kind == "punct":
        return _PUNCT[val]
    return {
        "raw": Tok.RAW, "string": Tok.STRING, "char": Tok.CHAR, "var": Tok.VAR,
        "field": Tok.FIELD, "number": Tok.NUMBER, "declare": Tok.DECLARE,
    }[kind or ""]


def _close(text: str, i: int, start: int, name: str, toks: list[Token], emit: bool) -> int:
    trim = False
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    if text.startswith("-}}", i):
        trim = True
        i += 1
    if not text.startswith("}}", i):
        raise TemplateSyntaxError(f"template: {name}:{_line(text, start)}: unclosed action")
    if emit:
        toks.append(Token(Tok.RIGHT, "}}", i, _line(text, i)))
    i += 2
    if trim:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
    return i
