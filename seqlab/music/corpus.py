"""Tune corpora: the shipped irish.abc, music21's folk collections, or the user's files.

    load_corpus()                  # irish.abc, shipped in seqlab/music/data (MIT licence)
    load_corpus("oneills1850")     # a collection inside the installed music21 package
    load_corpus("my_tunes.abc")    # a file, or a folder of .abc files (searched recursively)

Every source goes through `abc.split_abc`: blocks that are not tunes are skipped and
counted. A tune whose `M:` or `L:` header cannot be read, or that has no music, is
skipped and counted too. Nothing malformed inside a corpus is fatal; a source that
yields no tune at all is (MusicError, one line).

`held_out_split` fixes the held-out tunes so that numbers compare across versions.
"""

from __future__ import annotations

import importlib.util
import random
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .abc import (
    has_music,
    header_fields,
    header_value,
    parse_meter,
    parse_unit_length,
    split_abc,
    split_header,
)
from .errors import MusicError

DEFAULT_CORPUS = "irish"


@dataclass
class Corpus:
    """Tunes (ABC text, one string each) and where they came from."""

    tunes: list[str]
    source: str  # a corpus name or a path, for messages
    skipped: int = 0  # blocks and tunes left out as malformed
    files: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.tunes)

    def text(self) -> str:
        """The tunes as one ABC text, blank-line separated (what a model trains on)."""
        return "\n\n".join(self.tunes) + "\n"


def corpus_names() -> list[str]:
    """The names `load_corpus` knows: irish, and music21's folders of .abc files."""
    return [DEFAULT_CORPUS] + sorted(_music21_corpora())


def load_corpus(source: str | Path | None = None) -> Corpus:
    """Load tunes by corpus name or path (module docstring); None means irish.abc.

    Known names come first, so a folder that happens to be called `irish` needs a path
    that says so (`./irish`).
    """
    if source is None or str(source) == DEFAULT_CORPUS:
        return _shipped_irish()
    name = str(source)
    if not name.strip():
        raise MusicError(
            "empty corpus name: give irish, a music21 corpus, an .abc file or a folder"
        )
    music21_corpora = _music21_corpora()
    # Names are matched without regard to case: "ryansmammoth" finds ryansMammoth.
    by_lower = {key.lower(): key for key in music21_corpora}
    if name.lower() in by_lower:
        folder = music21_corpora[by_lower[name.lower()]]
        return _from_files(sorted(folder.rglob("*.abc")), source=by_lower[name.lower()])
    path = Path(name).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() == ".abc" and p.is_file())
        if not files:
            raise MusicError(f"no .abc files in folder {name}")
        return _from_files(files, source=name)
    if path.is_file():
        return _from_files([path], source=name)
    raise MusicError(
        f"unknown corpus {name!r}: give an .abc file, a folder of .abc files, or one of: "
        + ", ".join(corpus_names())
    )


def read_abc_file(path: str | Path) -> str:
    """The text of an ABC file; MusicError (one line) if it is empty or not text."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise MusicError(f"cannot read {path}: {error.strerror or error}") from None
    if not data.strip():
        raise MusicError(f"{path} is empty")
    # A NUL byte never occurs in text: this is a binary file (an image, a MIDI file...).
    if b"\x00" in data:
        raise MusicError(f"{path} is not a text file (it holds binary data)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Older ABC collections are Latin-1; every byte string decodes as Latin-1.
        return data.decode("latin-1")


def held_out_split(tunes: list, fraction: float = 0.1) -> tuple[list, list]:
    """Split tunes into (train, held_out), the same way in every version of seqlab.

    The rule (issue "Music generation"): shuffle the list of tune indices with
    `random.Random(0).shuffle`; the first 10% (rounded half up) are held out, the rest
    train. Both lists keep the shuffled order. 804 tunes -> 80 held out, 724 train.
    """
    indices = held_out_indices(len(tunes), fraction)
    held = set(indices)
    order = _shuffled(len(tunes))
    return [tunes[i] for i in order if i not in held], [tunes[i] for i in indices]


def extra_training_tunes(sources: list[str], held_out: list[str]) -> tuple[list[str], int, int]:
    """Tunes of other corpora to add to a corpus's training tunes: (tunes, skipped, dropped).

    A tune is dropped when it could be one of the held-out tunes in another transcription:
    the same title, or the same first 24 notes. That is stricter than it needs to be (two
    tunes may share a name), so the held-out bits/char stays an honest measure.
    """
    titles = {_title_key(tune) for tune in held_out} - {""}
    openings = {_opening_key(tune) for tune in held_out} - {""}
    tunes: list[str] = []
    skipped = dropped = 0
    for source in sources:
        corpus = load_corpus(source)
        skipped += corpus.skipped
        for tune in corpus.tunes:
            if _title_key(tune) in titles or _opening_key(tune) in openings:
                dropped += 1
            else:
                tunes.append(tune)
    return tunes, skipped, dropped


def _title_key(tune: str) -> str:
    title = header_value(tune, "T") or ""
    return re.sub(r"[^a-z0-9]", "", title.lower().removeprefix("the "))


def _opening_key(tune: str, notes: int = 24) -> str:
    """The first notes' letters, without octave marks, accidentals, rhythm or bar lines.

    A rough key on purpose, not `lexer.tokenize`: it also counts letters in field and
    comment lines, and its quotes and grace notes may span lines. Changing it would
    change which extra tunes are dropped, and so the training data of existing runs.
    """
    _, body = split_header(tune)
    body = re.sub(r'"[^"]*"|![^!\n]*!|\{[^}]*\}', "", body)  # chord symbols, decorations, grace notes
    letters = re.findall(r"[A-Ga-g]", body)
    return "".join(letter.lower() for letter in letters[:notes]) if len(letters) >= notes else ""


def held_out_indices(count: int, fraction: float = 0.1) -> list[int]:
    """The indices `held_out_split` holds out, in shuffled order."""
    if not 0.0 <= fraction <= 1.0:
        raise MusicError(f"held-out fraction must be between 0 and 1, got {fraction}")
    size = int(count * fraction + 0.5)  # round half up: 80.5 -> 81, not Python's 80
    return _shuffled(count)[:size]


def _shuffled(count: int) -> list[int]:
    order = list(range(count))
    random.Random(0).shuffle(order)
    return order


# --------------------------------------------------------------------------- sources


def _shipped_irish() -> Corpus:
    text = resources.files("seqlab.music").joinpath("data/irish.abc").read_text(encoding="utf-8")
    return _from_text(text, source=DEFAULT_CORPUS, files=["seqlab/music/data/irish.abc"])


def _music21_corpora() -> dict[str, Path]:
    """music21's corpus folders that hold .abc files, by folder name (oneills1850, ...).

    Found on disk rather than through music21's API: importing music21 takes a second,
    and the folders are plain files (shared/data/README.md lists the folk ones).
    """
    spec = importlib.util.find_spec("music21")
    if spec is None or not spec.submodule_search_locations:
        return {}
    root = Path(list(spec.submodule_search_locations)[0]) / "corpus"
    if not root.is_dir():
        return {}
    return {
        folder.name: folder
        for folder in sorted(root.iterdir())
        if folder.is_dir() and next(folder.rglob("*.abc"), None) is not None
    }


def _from_files(paths: list[Path], source: str) -> Corpus:
    tunes: list[str] = []
    skipped = 0
    for path in paths:
        try:
            part = _from_text(read_abc_file(path), source=str(path), files=[str(path)])
        except MusicError:
            if len(paths) == 1:
                raise  # the one file the user named: say what is wrong with it
            skipped += 1  # one bad file in a folder is not fatal
            continue
        tunes.extend(part.tunes)
        skipped += part.skipped
    if not tunes:
        raise MusicError(f"no tunes found in {source} ({len(paths)} files)")
    return Corpus(tunes, source, skipped, [str(p) for p in paths])


def _from_text(text: str, source: str, files: list[str]) -> Corpus:
    split = split_abc(text)
    tunes = [tune for tune in split.tunes if _usable(tune)]
    skipped = split.skipped + len(split.tunes) - len(tunes)
    if not tunes:
        raise MusicError(
            f"no tunes found in {source} "
            "(a tune is a blank-line separated block with X: and K: lines)"
        )
    return Corpus(tunes, source, skipped, files)


def _usable(tune: str) -> bool:
    """Headers that can be read and some notes: what a model can learn from."""
    for letter, value in header_fields(tune):
        try:
            if letter == "M":
                parse_meter(value)
            elif letter == "L":
                parse_unit_length(value)
        except MusicError:
            return False
    return has_music(tune)
