"""The sandbox marketing templates render in, and the bounds on the work one render may do.

Jinja's immutable sandbox keeps a template away from Python internals; it does not stop a
template from spending a worker's time (three nested ``{% for %}`` over ``'x' * 1000`` ran for a
minute) or memory (``'x'.center(10**9)``). So a render here is bounded three ways:

- **work**: every Python line run while the template renders (its own loops and the filters it
  calls) counts, and so does every character of text it makes; the render stops at
  ``MAX_OPERATIONS`` lines, ``MAX_CHARS_MADE`` characters or ``MAX_CPU_SECONDS`` of its thread's
  CPU time, whichever comes first (``Renderer``);
- **sizes**: every value a template makes (text, lists, joins, repetitions, paddings, formats,
  macro output) is refused before it is made when it would print as more than
  ``MAX_OUTPUT_CHARS`` characters, so no single step can allocate or compare without bound;
- **output**: the rendered text stops at ``MAX_OUTPUT_CHARS``.

A render that hits a bound raises ``RenderLimit`` (operations, time, output) or Jinja's
``SecurityError`` (a value too large), with a message a marketer can act on.
"""

from __future__ import annotations

import inspect
import operator
import re
import string
import sys
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from functools import cache, wraps
from typing import Any

from jinja2 import DictLoader, StrictUndefined
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from .layout import LAYOUT_NAME, LAYOUTS

MAX_OUTPUT_CHARS = 500_000
MAX_OPERATIONS = 200_000
MAX_CPU_SECONDS = 2.0
MAX_WIDTH = 10_000  # paddings, indents, format widths: far beyond any email's needs
MAX_INT_BITS = 4096
MAX_CHARS_MADE = 10 * MAX_OUTPUT_CHARS  # all the text one render may make, kept or not


class RenderLimit(Exception):
    """The render was stopped: it did too much work or made too much text."""


class _OutOfBudget(BaseException):
    """Raised inside the render by the tracer; not an ``Exception``, so that no ``except
    Exception`` in a filter can swallow it and let the render run on untraced."""


def _too_large() -> SecurityError:
    return SecurityError(f"that would make a text longer than {MAX_OUTPUT_CHARS:,} characters")


def size(value: Any, _seen: dict[int, int] | None = None) -> int:
    """About how many characters ``value`` prints as. Shared parts are counted once per use, as
    printing would, but measured once, so a deep structure of shared lists costs its node count."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool | float | type(None)):
        return 5
    if isinstance(value, int):
        return value.bit_length() // 3 + 1
    if isinstance(value, list | tuple | dict | set | frozenset):
        seen = {} if _seen is None else _seen
        if id(value) not in seen:
            seen[id(value)] = 0  # a cycle (impossible to build in a template) counts as empty
            items = (x for kv in value.items() for x in kv) if isinstance(value, dict) else value
            total = 2
            for item in items:
                total += size(item, seen) + 2
                if total > MAX_OUTPUT_CHARS:
                    break
            seen[id(value)] = total
        return seen[id(value)]
    return 40  # anything else prints as its short repr or an Undefined's message


def bounded(value: Any) -> Any:
    """``value``, if it is not too large; its size counts towards the render's text budget."""
    chars = size(value)
    if chars > MAX_OUTPUT_CHARS:
        raise _too_large()
    budget = _budget.get()
    if budget is not None:
        budget.spend(chars)
    return value


def _check_width(width: Any) -> None:
    if isinstance(width, int) and width > MAX_WIDTH:
        raise SecurityError(f"widths above {MAX_WIDTH:,} are not allowed")


def _check_total(*sizes: int) -> None:
    if sum(sizes) > MAX_OUTPUT_CHARS:
        raise _too_large()


def _check_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        found = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            found = min(found, count)
        _check_total(len(text), found * max(0, len(new) - len(old)))


def _check_join(separator: Any, items: list[Any]) -> None:
    seen: dict[int, int] = {}
    _check_total(len(str(separator)) * max(0, len(items) - 1), *(size(item, seen) for item in items))


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent(template: str, values: Any) -> None:
    """``template % values``: no huge width or precision, written or passed as ``*``."""
    starred = False
    for spec in _PERCENT_SPEC.finditer(template):
        for number in spec.groups():
            if number == "*":
                starred = True
            elif number:
                _check_width(int(number))
    args = values if isinstance(values, tuple) else (values,)
    if starred:
        for arg in args:
            _check_width(arg)
    _check_total(len(template), size(values))


def _check_format(template: str, args: Iterable[Any], kwargs: dict[str, Any]) -> None:
    """``str.format``: no nested fields in a format spec, no huge width or precision."""
    for _, _, spec, _ in string.Formatter().parse(template):
        if spec:
            if "{" in spec:
                raise SecurityError("nested fields in a format specification are not allowed")
            for number in re.findall(r"\d+", spec):
                _check_width(int(number))
    seen: dict[int, int] = {}
    _check_total(len(template), *(size(a, seen) for a in args), *(size(v, seen) for v in kwargs.values()))


# What a str method may make, checked before it runs (its result is checked after, too).
def _str_method_check(text: str, name: str, args: tuple, kwargs: dict) -> None:
    if name in ("center", "ljust", "rjust", "zfill"):
        _check_width(args[0] if args else kwargs.get("width"))
    elif name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(tabsize, int):
            _check_total(len(text), text.count("\t") * tabsize)
    elif name == "replace":
        _check_replace(text, *args, **kwargs)
    elif name == "translate" and args and isinstance(args[0], dict):
        longest = max((size(v) for v in args[0].values()), default=0)
        _check_total(len(text) * longest)


# Filters: what each may make, checked on its bound arguments before it runs.
def _filter_checks() -> dict[str, Callable[[dict[str, Any]], None]]:
    def indent(a: dict[str, Any]) -> None:
        width = a.get("width", 4)
        unit = len(width) if isinstance(width, str) else width
        _check_width(unit)
        if isinstance(unit, int):
            text = str(a.get("s", ""))
            _check_total(len(text), unit * (text.count("\n") + 1))

    def wordwrap(a: dict[str, Any]) -> None:
        width = a.get("width", 79)
        _check_width(width)
        text, wrap = str(a.get("s", "")), a.get("wrapstring") or "\n"
        if isinstance(width, int) and width > 0:
            _check_total(len(text), len(str(wrap)) * (len(text) // width + 1))

    return {
        "center": lambda a: _check_width(a.get("width", 80)),
        "indent": indent,
        "wordwrap": wordwrap,
        "tojson": lambda a: (_check_width(a.get("indent")), _check_total(size(a.get("value")) * 2)),
        "format": lambda a: _check_percent(
            str(a.get("value", "")), a.get("kwargs") or tuple(a.get("args", ()))
        ),
        "replace": lambda a: _check_replace(
            str(a.get("s", "")),
            a.get("old"),
            a.get("new"),
            a.get("count") if a.get("count") is not None else -1,
        ),
        "sum": lambda a: _check_sum_start(a.get("start", 0)),
        "batch": lambda a: _check_width(a.get("linecount")),
    }


def _check_sum_start(start: Any) -> None:
    if not isinstance(start, int | float):
        raise SecurityError("sum adds numbers only")


def _bounded_filter(name: str, function: Callable[..., Any], check: Callable | None) -> Callable[..., Any]:
    signature = inspect.signature(function)

    @wraps(function)
    def bounded_filter(*args: Any, **kwargs: Any) -> Any:
        if name == "join":  # materialise the items to measure them, then join those
            args, kwargs = _measured_join(signature, args, kwargs)
        elif check is not None:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                pass  # the filter itself reports its misuse
            else:
                check(bound.arguments)
        return bounded(function(*args, **kwargs))

    return bounded_filter


def _measured_join(signature: inspect.Signature, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError:
        return args, kwargs
    eval_ctx, value = bound.arguments["eval_ctx"], bound.arguments.get("value", ())
    attribute = bound.arguments.get("attribute")
    items = list(value)
    if attribute is not None:
        items = [eval_ctx.environment.getitem(item, attribute) for item in items]
    separator = bound.arguments.get("d", "")
    _check_join(separator, items)
    return (eval_ctx, items, separator), {}


class _CodeGenerator(CodeGenerator):
    """Compiled templates route ``~`` and list, tuple and dict literals through size checks."""

    def visit_Concat(self, node, frame) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.bounded_concat({join}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_List(self, node, frame) -> None:
        self.write("environment.bounded(")
        super().visit_List(node, frame)
        self.write(")")

    def visit_Tuple(self, node, frame) -> None:
        if node.ctx != "load":
            super().visit_Tuple(node, frame)  # an unpacking target, not a value
            return
        self.write("environment.bounded(")
        super().visit_Tuple(node, frame)
        self.write(")")

    def visit_Dict(self, node, frame) -> None:
        self.write("environment.bounded(")
        super().visit_Dict(node, frame)
        self.write(")")


class Sandbox(ImmutableSandboxedEnvironment):
    """No globals (no ``range``, ``cycler``, …), and every way to make a large value checked."""

    code_generator_class = _CodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals.clear()
        checks = _filter_checks()
        self.filters = {name: _bounded_filter(name, f, checks.get(name)) for name, f in self.filters.items()}

    @staticmethod
    def bounded(value: Any) -> Any:
        return bounded(value)

    @staticmethod
    def bounded_concat(join: Callable[[Iterable[Any]], str], parts: tuple) -> str:
        seen: dict[int, int] = {}
        _check_total(*(size(part, seen) for part in parts))
        return bounded(join(parts))

    def concat(self, parts: Iterable[str]) -> str:  # type: ignore[override]
        """Macro, ``{% set %}`` block and filter block output: measured before it is joined."""
        pieces = list(parts)
        _check_total(*(len(piece) for piece in pieces))
        return bounded("".join(pieces))

    def call_binop(self, context, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise SecurityError("exponents above 64 are not allowed")
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and left.bit_length() * abs(right) > MAX_INT_BITS
            ):
                raise SecurityError("that number is too large")
            return operator.pow(left, right)
        if operator_name == "*":
            for seq, times in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(times, int)
                    and size(seq) * times > MAX_OUTPUT_CHARS
                ):
                    raise SecurityError("that repetition is too large")
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and left.bit_length() + right.bit_length() > MAX_INT_BITS
            ):
                raise SecurityError("that number is too large")
            return bounded(operator.mul(left, right))
        if operator_name == "%" and isinstance(left, str):
            _check_percent(left, right)
            return bounded(operator.mod(left, right))
        if operator_name == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                _check_total(size(left), size(right))
                return bounded(operator.add(left, right))
            return operator.add(left, right)
        return super().call_binop(context, operator_name, left, right)

    def call(__self, __context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        target = getattr(__obj, "__self__", None)
        if isinstance(target, str):
            name = getattr(__obj, "__name__", "")
            if name == "join" and args:
                items = list(args[0])
                _check_join(target, items)
                args = (items, *args[1:])
            else:
                _str_method_check(target, name, args, kwargs)
        return bounded(super().call(__context, __obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        formatter = super().wrap_str_format(value)
        if formatter is None:
            return None
        template, is_map = value.__self__, value.__name__ == "format_map"

        def checked_format(*args: Any, **kwargs: Any) -> str:
            mapping = args[0] if is_map and args and isinstance(args[0], dict) else kwargs
            _check_format(template, () if is_map else args, mapping)
            return bounded(formatter(*args, **kwargs))

        return checked_format


@cache
def environment(html: bool) -> Sandbox:
    # finalize: every {{ value }} printed, in the page or in a macro's buffer, is measured and paid.
    # The HTML environment knows one other template, the branded layout (``layout``), compiled
    # here once (untraced) so that a template extending it pays only for rendering it.
    env = Sandbox(undefined=StrictUndefined, autoescape=html, auto_reload=False, finalize=bounded,
                  loader=DictLoader(LAYOUTS if html else {}))
    if html:
        env.get_template(LAYOUT_NAME)
    return env


class _Budget:
    """One render's allowance: Python lines run (counted by the tracer), the thread's CPU time
    (looked at every 256 lines) and the characters of text made along the way."""

    def __init__(self, operations: int, seconds: float, chars: int) -> None:
        self.operations = operations
        self.deadline = time.thread_time() + seconds
        self.chars = chars
        self.used = 0
        self.made = 0

    def trace(self, frame, event, arg):  # a new frame: trace its lines too
        return self.line

    def line(self, frame, event, arg):
        self.used += 1
        if self.used >= self.operations:
            raise _OutOfBudget(f"more than {self.operations:,} steps")
        if not self.used & 0xFF and time.thread_time() > self.deadline:
            raise _OutOfBudget(f"more than {MAX_CPU_SECONDS:g} s")
        return self.line

    def spend(self, chars: int) -> None:
        self.made += chars
        if self.made > self.chars:
            raise _OutOfBudget(f"more than {self.chars:,} characters of text along the way")


_budget: ContextVar[_Budget | None] = ContextVar("revtain_render_budget", default=None)


class Renderer:
    """One render's budget, shared by the parts it renders (subject, HTML, text)."""

    def __init__(
        self, operations: int = MAX_OPERATIONS, seconds: float = MAX_CPU_SECONDS, chars: int = MAX_CHARS_MADE
    ) -> None:
        self.budget = _Budget(operations, seconds, chars)

    @property
    def operations(self) -> int:
        return self.budget.used

    def render(self, html: bool, source: str, variables: dict[str, Any]) -> str:
        """Compile (untraced: bounded by the source's size), then render within the budget."""
        template = environment(html).from_string(source)
        pieces: list[str] = []
        total = 0
        token = _budget.set(self.budget)
        previous = sys.gettrace()
        sys.settrace(self.budget.trace)
        try:
            for piece in template.generate(variables):
                total += len(piece)
                if total > MAX_OUTPUT_CHARS:
                    raise RenderLimit(f"the rendered text is longer than {MAX_OUTPUT_CHARS:,} characters")
                pieces.append(piece)
        except _OutOfBudget as exc:
            raise RenderLimit(f"rendering it takes too much work ({exc}): simplify its loops") from None
        except RecursionError:
            raise RenderLimit("a macro calls itself too deeply") from None
        finally:
            sys.settrace(previous)
            _budget.reset(token)
        return "".join(pieces)
