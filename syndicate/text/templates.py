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
