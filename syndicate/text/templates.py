"""Where Jinja2 templates come from: a publication's own ``templates/`` first, then ours.

The built-in templates live in the repository's top-level ``templates/`` folder, which the wheel
ships as ``syndicate/templates``. A publication overrides them file by file: a
``templates/digest.txt.j2`` in its folder replaces ours, every other template stays built-in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import syndicate

from ..errors import TemplateError

if TYPE_CHECKING:
    import jinja2

    from ..config import Config

T = TypeVar("T")


def builtin_templates_dir() -> Path:
    """The built-in templates: inside the installed package, else the source checkout's."""
    packaged = Path(syndicate.__file__).parent / "templates"
    if packaged.is_dir():
        return packaged
    checkout = Path(syndicate.__file__).resolve().parent.parent / "templates"
    if checkout.is_dir():
        return checkout
    raise TemplateError(
        f"built-in templates not found (looked in {packaged} and {checkout}); reinstall syndicate"
    )


def template_environment(config: Config | Path | None, *, autoescape: bool) -> jinja2.Environment:
    """A Jinja2 environment whose loader tries the publication's templates, then the built-ins.

    ``config`` is a loaded Config (its ``templates_dir`` is used), a templates folder, or None
    for the built-ins only. ``autoescape`` is True for HTML/MJML and False for plain text.
    Undefined variables are errors, so a typo in an override fails loudly instead of printing
    nothing. Content must only ever be passed as variables: it is never compiled as a template.
    """
    # lazy: Jinja2 loads with the first template, not with `syndicate --help` or a no-op build
    import jinja2

    folder = config if isinstance(config, Path) or config is None else config.templates_dir
    loaders: list[jinja2.BaseLoader] = []
    if folder is not None and folder.is_dir():
        loaders.append(jinja2.FileSystemLoader(folder))
    loaders.append(jinja2.FileSystemLoader(builtin_templates_dir()))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(env: jinja2.Environment, name: str, **context: Any) -> str:
    """Render a template by name; Jinja's errors become a TemplateError naming file and line."""
    return _guard(name, lambda: env.get_template(name).render(**context))


def render_string(source: str, **context: Any) -> str:
    """Render a template given as text (a config value such as ``[email] subject``; never
    content), autoescape off; Jinja's errors become a TemplateError carrying its message."""
    # lazy: Jinja2 loads with the first template, not with `syndicate --help` or a no-op build
    import jinja2

    env = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)
    try:
        return env.from_string(source).render(**context)
    except jinja2.TemplateError as exc:
        raise TemplateError(str(exc)) from None


def template_source(env: jinja2.Environment, name: str) -> str | None:
    """The source text of a named template, or None if no loader finds it."""
    # lazy: Jinja2 is loaded already (``env`` exists); the import only names its error
    import jinja2

    if env.loader is None:
        raise TemplateError(f"{name}: no template loader configured")
    try:
        return env.loader.get_source(env, name)[0]
    except jinja2.TemplateNotFound:
        return None


def _guard(name: str, action: Callable[[], T]) -> T:
    # lazy: Jinja2 is loaded already (a template is being rendered); the import names its errors
    import jinja2

    try:
        return action()
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template not found: {exc.name or name}") from None
    except jinja2.TemplateSyntaxError as exc:
        where = exc.filename or exc.name or name
        raise TemplateError(f"{where}:{exc.lineno}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        where = _template_frame(exc) or name
        raise TemplateError(f"{where}: {exc.message or type(exc).__name__}") from None


def _template_frame(exc: BaseException) -> str | None:
    """``file:line`` of the innermost template frame (Jinja rewrites tracebacks to show them)."""
    found = None
    trace = exc.__traceback__
    while trace is not None:
        filename = trace.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            found = f"{filename}:{trace.tb_lineno}"
        trace = trace.tb_next
    return found


def attributes_read(
    env: jinja2.Environment, names: Iterable[str], variable: str
) -> tuple[bool, frozenset[str] | None]:
    """Whether the templates ``names`` (and every template they include, import or extend)
    use ``variable``, and which of its attributes they read: ``variable.x`` and
    ``variable["x"]`` name ``x``; any other use (a loop over it, ``.items()``, a computed key, a template
    included by a computed name) gives None, "possibly any".

    Read from the templates' syntax trees, once, so a caller can skip per-reader work for
    templates that never name the variable.
    """
    # lazy: Jinja2 is already loaded by ``env``; its node classes are needed only here
    from jinja2 import meta, nodes

    used = False
    fields: set[str] = set()
    anything = False
    todo, seen = list(names), set()

    def visit(node: nodes.Node, parent: nodes.Node | None) -> None:
        nonlocal used, anything
        if isinstance(node, nodes.Name) and node.name == variable and node.ctx == "load":
            used = True
            if isinstance(parent, nodes.Getattr) and parent.node is node:
                if hasattr(dict, parent.attr):  # reader.items(): the whole mapping
                    anything = True
                fields.add(parent.attr)
            elif (
                isinstance(parent, nodes.Getitem)
                and parent.node is node
                and isinstance(parent.arg, nodes.Const)
                and isinstance(parent.arg.value, str)
            ):
                fields.add(parent.arg.value)
            else:
                anything = True
        for child in node.iter_child_nodes():
            visit(child, node)

    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        source = template_source(env, name)
        if source is None:
            continue  # rendering reports a missing template
        tree = env.parse(source)
        for ref in meta.find_referenced_templates(tree):
            if ref is None:
                anything = used = True
            else:
                todo.append(ref)
        visit(tree, None)
    return used, (None if anything else frozenset(fields))


ReaderSlot = tuple[str, str | None]  # (attribute, the literal after ``or``, if any)

# Where a plain ``{{ reader.x }}`` may sit and still reach the output unchanged: nothing on the
# way captures or transforms what it writes (a ``{% filter %}``, ``{% set %}`` block, macro or
# call block could).
_PASS_THROUGH = ("Template", "Output", "If", "For", "Block", "Scope", "With", "Include")


def plain_reads(
    env: jinja2.Environment, names: Iterable[str], variable: str
) -> tuple[ReaderSlot, ...] | None:
    """The slots when every use of ``variable`` in the templates ``names`` (and those they
    include) is a plain output, ``{{ variable.x }}``, ``{{ variable["x"] }}`` or either
    ``or "literal"``, written where nothing transforms it, each attribute with one fallback
    throughout; else None.

    Such templates can be rendered once with a placeholder per slot and each reader's value
    substituted afterwards, instead of rendered once per reader.
    """
    # lazy: Jinja2 is already loaded by ``env``; its node classes are needed only here
    from jinja2 import meta, nodes

    slots: list[ReaderSlot] = []
    plain = True
    todo: list[tuple[str, bool]] = [(name, True) for name in names]
    seen: set[tuple[str, bool]] = set()

    def field(expr: nodes.Node) -> str | None:
        if not (isinstance(expr, nodes.Getattr | nodes.Getitem) and _names(expr.node, variable)):
            return None
        if isinstance(expr, nodes.Getattr):
            return None if hasattr(dict, expr.attr) else expr.attr
        arg = expr.arg
        return arg.value if isinstance(arg, nodes.Const) and isinstance(arg.value, str) else None

    def slot(expr: nodes.Node) -> ReaderSlot | None:
        if isinstance(expr, nodes.Or):
            right = expr.right
            name = field(expr.left)
            if name is not None and isinstance(right, nodes.Const) and type(right.value) is str:
                return name, right.value
            return None
        name = field(expr)
        return None if name is None else (name, None)

    def visit(node: nodes.Node, passes: bool) -> None:
        nonlocal plain
        if isinstance(node, nodes.Name) and node.name == variable and node.ctx == "load":
            plain = False
            return
        if isinstance(node, nodes.Include):
            target = node.template
            if isinstance(target, nodes.Const) and isinstance(target.value, str):
                todo.append((target.value, passes))
        if isinstance(node, nodes.Output):
            for child in node.nodes:
                found = slot(child)
                if found is not None and passes:
                    if found not in slots:
                        slots.append(found)
                else:
                    visit(child, passes)
            return
        inner = passes and type(node).__name__ in _PASS_THROUGH
        for below in node.iter_child_nodes():
            visit(below, inner)

    while todo and plain:
        name, passes = todo.pop()
        if (name, passes) in seen:
            continue
        seen.add((name, passes))
        source = template_source(env, name)
        if source is None:
            continue
        tree = env.parse(source)
        if any(ref is None for ref in meta.find_referenced_templates(tree)):
            return None
        if any(tree.find_all((nodes.Extends, nodes.Import, nodes.FromImport))):
            return None  # a parent or imported macro might transform what this writes
        visit(tree, passes)
    if not plain or len({name for name, _ in slots}) != len(slots):
        return None  # one attribute with two fallbacks would need two placeholders
    return tuple(slots)


def _names(node: object, variable: str) -> bool:
    # lazy: as above, only for template analysis
    from jinja2 import nodes

    return isinstance(node, nodes.Name) and node.name == variable and node.ctx == "load"
