"""The condition language's tokens, tree and parser (SPEC 3); precedence as in Python.

    or_expr   := and_expr ('or' and_expr)*
    and_expr  := not_expr ('and' not_expr)*
    not_expr  := 'not' not_expr | comparison
    comparison:= operand (('==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not' 'in') operand)*
    operand   := literal | name | list | count | '(' or_expr ')'
    count     := 'count' '(' or_expr (',' or_expr)* ','? ')'

`count(c1, c2, ...)` is a number: how many of its conditions are true (SPEC 3).

Chained comparisons (`16 <= age < 60`) mean what they mean in Python: each pair, joined by `and`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Union

MAX_LENGTH = 2000
MAX_DEPTH = 32

Value = Union[bool, int, float, str]


@dataclass(frozen=True)
class Literal:
    value: Value
    pos: int


@dataclass(frozen=True)
class ListOf:
    items: tuple[Literal, ...]
    pos: int


@dataclass(frozen=True)
class Name:
    id: str
    pos: int


@dataclass(frozen=True)
class Not:
    operand: Expr
    pos: int


@dataclass(frozen=True)
class BoolOp:
    op: str  # 'and' | 'or'
    operands: tuple[Expr, ...]
    pos: int


@dataclass(frozen=True)
class Compare:
    op: str  # == != < <= > >= in, 'not in'
    left: Expr
    right: Expr
    pos: int


@dataclass(frozen=True)
class Count:
    """`count(c1, c2, ...)`: the number of its conditions that are true."""

    operands: tuple[Expr, ...]
    pos: int


Expr = Union[Literal, ListOf, Name, Not, BoolOp, Compare, Count]


COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
"""What each comparison means on two known values; RELATIONS adds list membership (`in`, `not in`)."""

RELATIONS: dict[str, Callable[[Any, Any], bool]] = {
    **COMPARISONS, "in": lambda value, members: value in members, "not in": lambda value, members: value not in members,
}


class ExprSyntaxError(Exception):
    """A condition that cannot be read; `pos` is the 0-based column within the condition."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message, self.pos = message, pos


@dataclass(frozen=True)
class Token:
    kind: str  # num, str, name, op, end
    text: str
    pos: int


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<num>\d+(?:\.\d+)?(?![A-Za-z_]))
  | (?P<str>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|-)
""", re.VERBOSE)

_MISTAKES = {"&&": "and", "&": "and", "||": "or", "|": "or", "!": "not", "=": "==", "=>": ">=", "=<": "<="}
_WRONG_WORDS = {"True": "true", "False": "false", "AND": "and", "OR": "or", "NOT": "not", "IN": "in",
                "TRUE": "true", "FALSE": "false", "yes": "true", "no": "false", "null": "", "None": ""}
KEYWORDS = {"and", "or", "not", "in", "true", "false"}


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            two = text[pos:pos + 2]
            hint = _MISTAKES.get(two) or _MISTAKES.get(text[pos])
            if text[pos] in "'\"":
                raise ExprSyntaxError(f"text starting at column {pos + 1} is never closed with {text[pos]}", pos)
            extra = f"; write '{hint}'" if hint else ""
            raise ExprSyntaxError(f"unexpected '{text[pos]}' at column {pos + 1}{extra}", pos)
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def parse(text: str) -> Expr:
    """The tree of a condition, or ExprSyntaxError naming the column."""
    if len(text) > MAX_LENGTH:
        raise ExprSyntaxError(f"the condition is {len(text)} characters long; the limit is {MAX_LENGTH}", 0)
    if not text.strip():
        raise ExprSyntaxError("the condition is empty", 0)
    return _Parser(tokenize(text)).parse()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def _is(self, kind: str, text: str | None = None) -> bool:
        token = self.token
        return token.kind == kind and (text is None or token.text == text)

    def _take(self) -> Token:
        token = self.token
        self.at += 1
        return token

    def parse(self) -> Expr:
        expr = self.or_expr()
        if not self._is("end"):
            raise ExprSyntaxError(f"unexpected {_show(self.token)} at column {self.token.pos + 1}; "
                                  "join conditions with 'and' or 'or'", self.token.pos)
        return expr

    def _nested(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExprSyntaxError(f"the condition is nested more than {MAX_DEPTH} levels deep", self.token.pos)

    def _joined(self, op: str, part: str) -> Expr:
        first = getattr(self, part)()
        operands = [first]
        while self._is("name", op):
            self._take()
            operands.append(getattr(self, part)())
        return first if len(operands) == 1 else BoolOp(op, tuple(operands), _pos(first))

    def or_expr(self) -> Expr:
        self._nested()
        try:
            return self._joined("or", "and_expr")
        finally:
            self.depth -= 1

    def and_expr(self) -> Expr:
        return self._joined("and", "not_expr")

    def not_expr(self) -> Expr:
        if self._is("name", "not") and not self.tokens[self.at + 1].text == "in":
            token = self._take()
            self._nested()
            try:
                return Not(self.not_expr(), token.pos)
            finally:
                self.depth -= 1
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.operand()
        pairs: list[Compare] = []
        while True:
            token = self.token
            if token.kind == "op" and token.text in ("==", "!=", "<", "<=", ">", ">="):
                op = self._take().text
            elif self._is("name", "in"):
                op = self._take().text
            elif self._is("name", "not") and self.tokens[self.at + 1].text == "in":
                self._take()
                self._take()
                op = "not in"
            else:
                break
            right = self.operand()
            pairs.append(Compare(op, left, right, token.pos))
            left = right
        if not pairs:
            return left
        return pairs[0] if len(pairs) == 1 else BoolOp("and", tuple(pairs), pairs[0].pos)

    def operand(self) -> Expr:
        token = self.token
        if token.kind == "op" and token.text == "(":
            self._take()
            expr = self.or_expr()
            if not self._is("op", ")"):
                raise ExprSyntaxError(f"the '(' at column {token.pos + 1} is never closed with ')'", self.token.pos)
            self._take()
            return expr
        if token.kind == "op" and token.text == "[":
            return self.list_of()
        if token.kind == "name" and self.tokens[self.at + 1].text == "(":
            return self.call()
        if token.kind == "name" and token.text not in KEYWORDS - {"true", "false"}:
            self._take()
            if token.text in ("true", "false"):
                return Literal(token.text == "true", token.pos)
            if token.text in _WRONG_WORDS and _WRONG_WORDS[token.text]:
                raise ExprSyntaxError(f"write '{_WRONG_WORDS[token.text]}' instead of '{token.text}' "
                                      f"(column {token.pos + 1})", token.pos)
            return Name(token.text, token.pos)
        return self.literal()

    def literal(self) -> Literal:
        token = self.token
        if token.kind == "op" and token.text == "-" and self.tokens[self.at + 1].kind == "num":
            self._take()
            number = self._take()
            return Literal(-_number(number.text), token.pos)
        if token.kind == "num":
            self._take()
            return Literal(_number(token.text), token.pos)
        if token.kind == "str":
            self._take()
            return Literal(re.sub(r"\\(.)", r"\1", token.text[1:-1]), token.pos)
        if token.kind == "name" and token.text in ("true", "false"):
            self._take()
            return Literal(token.text == "true", token.pos)
        if token.kind == "end":
            raise ExprSyntaxError("the condition ends too early: a value or input is missing at the end",
                                  token.pos)
        raise ExprSyntaxError(f"expected a value or an input at column {token.pos + 1}, found {_show(token)}",
                              token.pos)

    def call(self) -> Count:
        """`count(...)`, the only function; any other name followed by '(' is explained, not guessed at."""
        name = self._take()
        if name.text != "count":
            hint = " (write 'count' in lower case)" if name.text.lower() == "count" else ""
            raise ExprSyntaxError(f"'{name.text}(...)' at column {name.pos + 1} is not part of the condition "
                                  f"language{hint}; the only function is count(...), e.g. "
                                  "'count(night_pain, pain_progressive) >= 2'", name.pos)
        opening = self._take()
        self._nested()
        try:
            operands: list[Expr] = []
            while not self._is("op", ")"):
                if self._is("end"):
                    raise ExprSyntaxError(f"the '(' of count at column {opening.pos + 1} is never closed with ')'",
                                          self.token.pos)
                operands.append(self.or_expr())
                if self._is("op", ","):
                    self._take()
                elif self._is("end"):
                    raise ExprSyntaxError(f"the '(' of count at column {opening.pos + 1} is never closed with ')'",
                                          self.token.pos)
                elif not self._is("op", ")"):
                    raise ExprSyntaxError(f"expected ',' or ')' at column {self.token.pos + 1} inside count(...), "
                                          f"found {_show(self.token)}", self.token.pos)
            self._take()
        finally:
            self.depth -= 1
        if not operands:
            raise ExprSyntaxError(f"count() at column {name.pos + 1} has nothing to count: list the conditions, "
                                  "e.g. 'count(night_pain, pain_progressive) >= 2'", name.pos)
        return Count(tuple(operands), name.pos)

    def list_of(self) -> ListOf:
        start = self._take()
        items: list[Literal] = []
        while not self._is("op", "]"):
            items.append(self.literal())
            if self._is("op", ","):
                self._take()
            elif not self._is("op", "]"):
                raise ExprSyntaxError(f"expected ',' or ']' at column {self.token.pos + 1}, found "
                                      f"{_show(self.token)}", self.token.pos)
        self._take()
        return ListOf(tuple(items), start.pos)


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def _pos(expr: Expr) -> int:
    return expr.pos


def _show(token: Token) -> str:
    return "the end" if token.kind == "end" else f"'{token.text}'"


def children(expr: Expr) -> tuple[Expr, ...]:
    """The parts a node is made of, for walks that need every node of a tree."""
    if isinstance(expr, Not):
        return (expr.operand,)
    if isinstance(expr, (BoolOp, Count)):
        return expr.operands
    if isinstance(expr, Compare):
        return (expr.left, expr.right)
    if isinstance(expr, ListOf):
        return expr.items
    return ()


def walk(expr: Expr) -> list[Expr]:
    """Every node of the tree, parents before their parts, left to right."""
    out: list[Expr] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(reversed(children(node)))
    return out


def names(expr: Expr) -> list[str]:
    """The input ids a condition reads, in order of first appearance."""
    return list(dict.fromkeys(node.id for node in walk(expr) if isinstance(node, Name)))
