"""Scenes to caption, and a judge of captions: one to three shapes drawn with Pillow, captions
from a small grammar, and a checker that decides whether a caption is true of a scene.

    a small red circle
    a large blue square to the left of a small green triangle
    a small yellow triangle , a large red circle and a small blue square     (left to right)

Two shapes are related by where they are ("to the left of", "to the right of", "above",
"below": the axis along which they lie further apart); which one is named first is drawn at
random, so a scene has several true captions and the checker, not a reference, is the judge.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

KINDS = ("circle", "square", "triangle")
COLOURS = {"red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (230, 200, 30)}
SIZES = {"small": 7, "large": 12}  # radius in pixels at 64x64
RELATIONS = ("to the left of", "to the right of", "above", "below")
IMAGE_SIZE = 64


@dataclass(frozen=True)
class Shape:
    kind: str
    colour: str
    size: str
    x: float  # centre, pixels
    y: float

    def words(self) -> str:
        return f"a {self.size} {self.colour} {self.kind}"


def random_scene(rng: np.random.Generator, max_shapes: int = 3) -> list[Shape]:
    """1..max_shapes shapes, all different in kind, colour or size, placed without overlapping."""
    count = int(rng.integers(1, max_shapes + 1))
    shapes: list[Shape] = []
    while len(shapes) < count:
        kind, colour, size = KINDS[rng.integers(3)], list(COLOURS)[rng.integers(4)], list(SIZES)[rng.integers(2)]
        radius = SIZES[size]
        x, y = rng.uniform(radius + 1, IMAGE_SIZE - radius - 1, size=2)
        apart = all(np.hypot(x - s.x, y - s.y) > radius + SIZES[s.size] + 4 for s in shapes)
        distinct = all((kind, colour, size) != (s.kind, s.colour, s.size) for s in shapes)
        if apart and distinct:
            shapes.append(Shape(kind, colour, size, float(x), float(y)))
    return shapes


def draw(shapes: list[Shape]) -> np.ndarray:
    """The scene as an RGB image (64, 64, 3), uint8, on a light grey ground."""
    image = Image.new("RGB", (IMAGE_SIZE, IMAGE_SIZE), (235, 235, 235))
    pen = ImageDraw.Draw(image)
    for shape in shapes:
        r, fill = SIZES[shape.size], COLOURS[shape.colour]
        box = (shape.x - r, shape.y - r, shape.x + r, shape.y + r)
        if shape.kind == "circle":
            pen.ellipse(box, fill=fill)
        elif shape.kind == "square":
            pen.rectangle(box, fill=fill)
        else:
            pen.polygon([(shape.x, shape.y - r), (shape.x - r, shape.y + r), (shape.x + r, shape.y + r)], fill=fill)
    return np.asarray(image)


def relation(first: Shape, second: Shape) -> str:
    """Where `first` is with respect to `second`, along the axis they differ most on."""
    dx, dy = first.x - second.x, first.y - second.y
    if abs(dx) >= abs(dy):
        return "to the left of" if dx < 0 else "to the right of"
    return "above" if dy < 0 else "below"


def describe(shapes: list[Shape], rng: np.random.Generator) -> str:
    """A true caption of the scene, in the grammar of the module docstring."""
    if len(shapes) == 1:
        return shapes[0].words()
    if len(shapes) == 2:
        first, second = (shapes[0], shapes[1]) if rng.random() < 0.5 else (shapes[1], shapes[0])
        return f"{first.words()} {relation(first, second)} {second.words()}"
    ordered = sorted(shapes, key=lambda s: s.x)
    return " , ".join(s.words() for s in ordered[:-1]) + f" and {ordered[-1].words()}"


_OBJECT = r"a (small|large) (red|green|blue|yellow) (circle|square|triangle)"
_PAIR = re.compile(rf"{_OBJECT} ({'|'.join(RELATIONS)}) {_OBJECT}")
_ONE = re.compile(_OBJECT)
_LIST = re.compile(rf"{_OBJECT} , {_OBJECT} and {_OBJECT}")


def is_true(caption: str, shapes: list[Shape]) -> bool:
    """Whether the caption, read by the grammar, is true of the scene: it names every shape
    exactly (no more, no less), and its relation or left-to-right order holds."""
    caption = " ".join(caption.split())

    def find(size: str, colour: str, kind: str) -> Shape | None:
        return next((s for s in shapes if (s.size, s.colour, s.kind) == (size, colour, kind)), None)

    if (match := _ONE.fullmatch(caption)) and len(shapes) == 1:
        return find(*match.groups()) is not None
    if (match := _PAIR.fullmatch(caption)) and len(shapes) == 2:
        groups = match.groups()
        first, second = find(*groups[:3]), find(*groups[4:])
        return first is not None and second is not None and first is not second and relation(first, second) == groups[3]
    if (match := _LIST.fullmatch(caption)) and len(shapes) == 3:
        groups = match.groups()
        named = [find(*groups[i : i + 3]) for i in (0, 3, 6)]
        return None not in named and len({id(s) for s in named}) == 3 and [s.x for s in named] == sorted(s.x for s in named)
    return False
