"""Tables in plain text: aligned columns when they fit the width, one block per row if not."""

from __future__ import annotations

from collections.abc import Sequence

from .width import text_width, wrap

GAP = "  "


def render_table(rows: Sequence[Sequence[str]], aligns: Sequence[str], width: int) -> list[str]:
    """Rows (header first) as text lines at most ``width`` wide.

    A table whose columns fit is drawn as aligned columns with a dashed rule under the header;
    a wider one becomes one ``Header: value`` block per row, which any width can hold. When the
    first header is empty the first cell titles its row (a common layout for comparisons).
    """
    if not rows:
        return []
    columns = max(len(row) for row in rows)
    grid = [[*row, *[""] * (columns - len(row))] for row in rows]
    sizes = [max(text_width(row[index]) for row in grid) for index in range(columns)]
    if sum(sizes) + len(GAP) * (columns - 1) <= width:
        return _columns(grid, [*aligns, *["left"] * columns][:columns], sizes)
    return _records(grid, width)


def _columns(grid: list[list[str]], aligns: list[str], sizes: list[int]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        parts = []
        for cell, size, align in zip(cells, sizes, aligns, strict=True):
            room = size - text_width(cell)
            before = room if align == "right" else room // 2 if align == "center" else 0
            parts.append(" " * before + cell + " " * (room - before))
        return GAP.join(parts).rstrip()

    rule = GAP.join("-" * max(size, 1) for size in sizes)
    header, *body = grid
    if not any(header):
        return [line(row) for row in body]
    return [line(header), rule, *(line(row) for row in body)]


def _records(grid: list[list[str]], width: int) -> list[str]:
    header, *body = grid
    titled = not header[0] and len(header) > 1
    lines: list[str] = []
    for row in body or [header]:
        if lines:
            lines.append("")
        cells = list(zip(header, row, strict=True))
        indent = ""
        if titled:
            lines.extend(wrap(row[0], width) or ["-"])
            cells = cells[1:]
            indent = "  "
        for label, value in cells:
            text = f"{label}: {value}" if label else value
            lines.extend(wrap(text, width, initial_indent=indent, subsequent_indent=indent + "  "))
    return lines
