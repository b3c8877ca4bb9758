"""Sound and sheet music: ABC to MIDI, MIDI to WAV, ABC to SVG, and all three at once.

* ABC -> MIDI: music21 reads the ABC and writes the MIDI file (repeats played out).
* MIDI -> WAV: fluidsynth (with a General MIDI soundfont) or timidity when one is on
  PATH, otherwise `synth.py`, which needs nothing outside pip.
* ABC -> SVG: verovio, in a child process (`_svg_worker.py`): verovio 6.4.1 kills its
  process on some malformed ABC (measured here: a stray `]` or an empty `K:` is enough),
  and nothing may take seqlab down. Tunes are checked first, and the child engraves a
  whole batch, so ten tunes cost one process start, not ten; an `Engraver` keeps the child
  for many batches (a server's requests), started again only after a crash.

Every function raises MusicError with a one-line reason when a tune cannot be rendered.
music21 is imported on first use only (it takes about a second).
"""

from __future__ import annotations

import base64
import glob
import html
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from .abc import field_value, header_value, split_header
from .errors import MusicError
from .lexer import ENDING, tokenize
from .meter import read_abc
from .synth import SAMPLE_RATE, midi_file_to_wav

SVG_WORKER = Path(__file__).with_name("_svg_worker.py")
# verovio layout: one tall page (so a tune is one SVG), no footer, scalable in HTML.
VEROVIO_OPTIONS = {
    "adjustPageHeight": True,
    "pageHeight": 60000,
    "pageWidth": 2100,
    "scale": 40,
    "footer": "none",
    "breaks": "auto",
    "svgViewBox": True,
}
# Where General MIDI soundfonts live on Debian, Ubuntu, Fedora and Arch.
SOUNDFONT_GLOBS = (
    "/usr/share/sounds/sf2/*.sf2",
    "/usr/share/soundfonts/*.sf2",
    "/usr/share/sounds/sf3/*.sf3",
    "/usr/share/soundfonts/*.sf3",
)
SYNTHS = ("auto", "builtin", "fluidsynth", "timidity")


# --------------------------------------------------------------------------- MIDI


def abc_to_midi(abc: str, path: str | Path) -> Path:
    """Write the tune as a MIDI file (via music21) and return its path."""
    from .checks import _music21_score

    path = Path(path)
    score = _music21_score(abc)
    if isinstance(score, str):
        raise MusicError(score)
    if not score.recurse().notes:
        raise MusicError("the tune has no notes to play")
    _repeat_from_section_starts(score)
    try:
        from music21 import midi

        midi_file = midi.translate.streamToMidiFile(score)
        midi_file.open(str(path), "wb")
        try:
            midi_file.write()
        finally:
            midi_file.close()
    except Exception as error:  # music21 raises many kinds; the user needs one line
        raise MusicError(f"music21 cannot write MIDI: {error}") from None
    return path


def _repeat_from_section_starts(score) -> None:
    """Mark where each repeat starts, as ABC players read it.

    A `:|` with no `|:` before it repeats from the end of the previous section (the
    previous `:|`, `||` or `|]`) or the start of the tune. music21 repeats it from the
    start of the tune instead, so a four-part jig written `A:|B:|C:|D:|` would play for
    minutes. An explicit start-repeat bar line at each such section start fixes that.
    """
    from music21 import bar, stream

    for part in score.parts if score.hasPartLikeStreams() else [score]:
        measures = list(part.getElementsByClass(stream.Measure))
        section_start = 0
        for index, measure in enumerate(measures):
            left, right = measure.leftBarline, measure.rightBarline
            if isinstance(left, bar.Repeat) and left.direction == "start":
                section_start = None  # an explicit |: that music21 reads correctly
            if isinstance(right, bar.Repeat) and right.direction == "end":
                if section_start is not None:
                    measures[section_start].leftBarline = bar.Repeat(direction="start")
                section_start = index + 1
            elif isinstance(right, bar.Barline) and right.type in (
                "final",
                "double",
                "light-light",
                "light-heavy",
            ):
                section_start = index + 1
            if section_start is not None and section_start >= len(measures):
                section_start = None


def plays(abc: str) -> bool:
    """Whether the tune goes through ABC -> MIDI without error (the "parse and play"
    figure of the issue). Writes to a temporary file; about 0.25 s a tune."""
    with tempfile.TemporaryDirectory(prefix="seqlab-") as folder:
        try:
            abc_to_midi(abc, Path(folder) / "tune.mid")
        except MusicError:
            return False
    return True


# --------------------------------------------------------------------------- WAV


def find_synthesizer(preference: str = "auto") -> str:
    """The WAV synthesizer `midi_to_wav` will use: fluidsynth (when a soundfont is
    found too), else timidity, else "builtin". Naming one that is missing is an error."""
    if preference not in SYNTHS:
        raise MusicError(f"unknown synthesizer {preference!r}: choose one of {', '.join(SYNTHS)}")
    if preference == "builtin":
        return "builtin"
    if preference in ("auto", "fluidsynth") and shutil.which("fluidsynth") and find_soundfont():
        return "fluidsynth"
    if preference == "fluidsynth":
        raise MusicError(
            "fluidsynth is not on PATH, or no .sf2 soundfont was found (set SEQLAB_SOUNDFONT)"
        )
    if preference in ("auto", "timidity") and shutil.which("timidity"):
        return "timidity"
    if preference == "timidity":
        raise MusicError("timidity is not on PATH")
    return "builtin"


def find_soundfont() -> str | None:
    """A soundfont for fluidsynth: $SEQLAB_SOUNDFONT, else the first one installed."""
    chosen = os.environ.get("SEQLAB_SOUNDFONT")
    if chosen:
        return chosen if Path(chosen).is_file() else None
    for pattern in SOUNDFONT_GLOBS:
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


def midi_to_wav(
    midi_path: str | Path, wav_path: str | Path, synth: str = "auto", sample_rate: int = SAMPLE_RATE
) -> Path:
    """Synthesize a MIDI file to a WAV file (`find_synthesizer` says with what).

    When an external synthesizer fails, the built-in one takes over: a tune should
    still be heard.
    """
    wav_path = Path(wav_path)
    engine = find_synthesizer(synth)
    if engine != "builtin":
        if engine == "fluidsynth":
            command = [
                "fluidsynth",
                "-ni",
                "-g",
                "0.8",
                "-r",
                str(sample_rate),
                "-F",
                str(wav_path),
                find_soundfont(),
                str(midi_path),
            ]
        else:
            command = [
                "timidity",
                "-Ow",
                "--output-mono",
                "-s",
                str(sample_rate),
                "-o",
                str(wav_path),
                str(midi_path),
            ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=120)
            if done.returncode == 0 and wav_path.is_file() and wav_path.stat().st_size > 44:
                return wav_path
        except (OSError, subprocess.TimeoutExpired):
            pass
        if synth != "auto":
            raise MusicError(f"{engine} could not render {midi_path}")
    return midi_file_to_wav(midi_path, wav_path, sample_rate)


def abc_to_wav(
    abc: str, wav_path: str | Path, synth: str = "auto", sample_rate: int = SAMPLE_RATE
) -> Path:
    """ABC -> MIDI (in a temporary file) -> WAV."""
    with tempfile.TemporaryDirectory(prefix="seqlab-") as folder:
        midi_path = abc_to_midi(abc, Path(folder) / "tune.mid")
        return midi_to_wav(midi_path, wav_path, synth=synth, sample_rate=sample_rate)


# --------------------------------------------------------------------------- SVG


def abc_for_verovio(abc: str) -> str:
    """The tune as verovio can read it.

    irish.abc ends its lines with `!`, the ABC 2.0 line-break mark; ABC 2.1 reads `!` as
    the start of a decoration like `!trill!`, and verovio runs off the end of the line
    looking for the closing `!` and aborts. An unpaired `!` at the end of a line is
    dropped here.
    """
    lines = []
    for line in abc.split("\n"):
        if line.rstrip().endswith("!") and line.count("!") % 2 == 1:
            line = line.rstrip()[:-1]
        lines.append(line)
    return "\n".join(lines)


def verovio_source(abc: str) -> str:
    """What verovio engraves a tune from. verovio's ABC reader draws no first- and
    second-ending brackets (a second ending would read as ordinary bars), so a tune with
    variant endings goes as MusicXML written by music21, which keeps them as volta
    brackets; any other tune, or one music21 cannot read, goes as ABC."""
    if not any(token.kind == ENDING for line in abc.split("\n") for token in tokenize(line)):
        return abc_for_verovio(abc)
    from .checks import _music21_score
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    score = _music21_score(abc)
    if isinstance(score, str):
        return abc_for_verovio(abc)
    _repeat_from_section_starts(score)
    try:
        return GeneralObjectExporter(score).parse().decode("utf-8")
    except Exception:  # noqa: BLE001 - music21 raises many kinds; the ABC path still engraves
        return abc_for_verovio(abc)


def svg_problem(abc: str) -> str | None:
    """Why a tune must not go to verovio (None when it may). These are the kinds of text
    seen to crash verovio 6.4.1: no or an empty K: field, and syntax the reader rejects."""
    fields, body = split_header(abc)
    key = field_value(fields, "K")
    if key is None or not key.strip():
        return "no key (K:) to engrave with"
    if field_value(fields, "X") is None:
        return "no X: line"
    problems = read_abc(abc).problems
    if problems:
        return f"not engraved: {problems[0]}"
    if not body.strip():
        return "no music to engrave"
    return None


def abc_to_svgs(tunes: Sequence[str], timeout: float = 60.0, engraver: Engraver | None = None) -> list[str | MusicError]:
    """Engrave many tunes in one verovio child process: an SVG string, or the
    MusicError saying why not, for each tune, in order.

    A tune that crashes verovio or makes it run past `timeout` seconds fails alone:
    the worker is started again for the tunes after it. `engraver`: a worker kept for many
    calls (without one, a worker is started for this call and stopped after it).
    """
    if engraver is None:
        with Engraver() as engraver:
            return abc_to_svgs(tunes, timeout, engraver)
    results: list[str | MusicError | None] = [None] * len(tunes)
    todo = []
    for index, tune in enumerate(tunes):
        problem = svg_problem(tune)
        if problem is not None:
            results[index] = MusicError(problem)
        else:
            todo.append(index)
    while todo:
        answered, failure = engraver.engrave([verovio_source(tunes[i]) for i in todo], timeout)
        for position, reply in answered.items():
            index = todo[position]
            results[index] = MusicError(reply["error"]) if "error" in reply else reply["svg"]
        # Replies come in order, so the first unanswered tune is the one that failed.
        first_unanswered = next((p for p in range(len(todo)) if p not in answered), None)
        if first_unanswered is None:
            break
        results[todo[first_unanswered]] = MusicError(failure)
        todo = todo[first_unanswered + 1 :]
    return [r if r is not None else MusicError("not engraved") for r in results]


class Engraver:
    """The verovio child process (`_svg_worker.py`), kept from one batch of tunes to the next.

    Starting it costs more than engraving a tune (Python and verovio load: about 55 ms on
    this project's CPU, against about 10 ms a tune), so a server engraves every request's
    tunes with one. One batch at a time; a worker that crashes or runs past its time is
    stopped, and the next batch starts a new one. `close()` (or leaving a `with` block)
    stops it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._worker: _Worker | None = None

    def engrave(self, sources: list[str], timeout: float) -> tuple[dict[int, dict], str]:
        """Send one batch (verovio input, one text a tune): the replies the worker wrote, by
        position, and why it stopped early (read only for the first tune left unanswered)."""
        with self._lock:
            if self._worker is None:
                self._worker = _Worker()
            answered, failure = self._worker.engrave(sources, timeout)
            if failure:  # crashed or too slow: the next batch starts another
                self._worker.kill()
                self._worker = None
            return answered, failure

    def close(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None

    def __enter__(self) -> Engraver:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


class _Worker:
    """One run of `_svg_worker.py`: a JSON request a line on its stdin, a JSON reply a line (a
    tune) on its stdout. Threads read its stdout and stderr, so a reply can be waited for
    with a time limit and its error messages never fill the pipe."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SVG_WORKER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self.replies: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()  # None: its stdout ended
        self.errors: deque[str] = deque(maxlen=20)  # its last lines on stderr
        self.readers = [
            threading.Thread(target=self._read_replies, name="seqlab-svg-replies", daemon=True),
            threading.Thread(target=self._read_errors, name="seqlab-svg-errors", daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    def _read_replies(self) -> None:
        for line in self.process.stdout:
            self.replies.put(line)
        self.replies.put(None)

    def _read_errors(self) -> None:
        for line in self.process.stderr:
            self.errors.append(line.decode(errors="replace"))

    def engrave(self, sources: list[str], timeout: float) -> tuple[dict[int, dict], str]:
        deadline = time.monotonic() + timeout
        answered: dict[int, dict] = {}
        request = json.dumps({"tunes": sources, "options": VEROVIO_OPTIONS}) + "\n"
        try:
            self.process.stdin.write(request.encode())
            self.process.stdin.flush()
        except OSError:  # it has died since the last batch
            return answered, self._crash_reason()
        while len(answered) < len(sources):
            try:
                line = self.replies.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return answered, f"verovio took longer than {timeout:g} s"
            if line is None:
                return answered, self._crash_reason()
            try:
                reply = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by the crash
            answered[reply["i"]] = reply
        return answered, ""

    def _crash_reason(self) -> str:
        returncode = self.process.wait()
        self.readers[1].join(timeout=1)  # its last words on stderr
        return _crash_reason(returncode, "".join(self.errors))

    def stop(self) -> None:
        """End a worker that waits for its next request."""
        try:
            self.process.stdin.close()  # it reads the end of its input, and returns
        except OSError:
            pass
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:  # busy (or stuck) on a tune after all
            self.process.kill()
        self._release()

    def kill(self) -> None:
        """End a worker that crashed or is stuck on a tune."""
        self.process.kill()
        self._release()

    def _release(self) -> None:
        self.process.wait()
        for reader in self.readers:  # they reach the end of the dead process's output
            reader.join(timeout=1)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            try:
                pipe.close()
            except OSError:
                pass


def _crash_reason(returncode: int, stderr: str) -> str:
    if returncode < 0:  # killed by a signal: SIGSEGV (11) or SIGABRT (6) from verovio
        return f"verovio crashed on this tune (signal {-returncode})"
    last = (stderr.strip().splitlines() or ["no message"])[-1]
    return f"verovio failed on this tune: {last}"


def abc_to_svg(abc: str, timeout: float = 30.0) -> str:
    """Engrave one tune as an SVG string (see `abc_to_svgs`)."""
    result = abc_to_svgs([abc], timeout=timeout)[0]
    if isinstance(result, MusicError):
        raise result
    return result


# --------------------------------------------------------------------------- all at once


@dataclass
class Rendering:
    """What `render_tunes` made for one tune: paths of the files, and what failed."""

    abc: str
    midi: Path | None = None
    wav: Path | None = None
    svg: Path | None = None
    errors: list[str] = field(default_factory=list)


def render_tunes(
    tunes: Sequence[str],
    folder: str | Path,
    stem: str = "tune",
    midi: bool = True,
    wav: bool = True,
    svg: bool = True,
    synth: str = "auto",
    sample_rate: int = SAMPLE_RATE,
    engraver: Engraver | None = None,
) -> list[Rendering]:
    """Write `{stem}_{n}.abc/.mid/.wav/.svg` for each tune into `folder` (n from 1).

    A tune that fails one step gets the reason in its `errors` and the other files
    still; no failure stops the batch. WAV is made from the MIDI file, so with
    `midi=False, wav=True` the MIDI file is written, used and removed. `engraver`: a
    verovio worker kept between calls (see `abc_to_svgs`).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    renderings = []
    for number, tune in enumerate(tunes, start=1):
        base = folder / f"{stem}_{number}"
        base.with_suffix(".abc").write_text(tune.rstrip("\n") + "\n", encoding="utf-8")
        rendering = Rendering(tune)
        if midi or wav:
            try:
                rendering.midi = abc_to_midi(tune, base.with_suffix(".mid"))
            except MusicError as error:
                rendering.errors.append(f"MIDI: {error}")
        if wav and rendering.midi is not None:
            try:
                rendering.wav = midi_to_wav(
                    rendering.midi, base.with_suffix(".wav"), synth=synth, sample_rate=sample_rate
                )
            except MusicError as error:
                rendering.errors.append(f"WAV: {error}")
        if not midi and rendering.midi is not None:
            rendering.midi.unlink()
            rendering.midi = None
        renderings.append(rendering)
    if svg:
        for rendering, number, result in zip(
            renderings, range(1, len(tunes) + 1), abc_to_svgs(list(tunes), engraver=engraver)
        ):
            if isinstance(result, MusicError):
                rendering.errors.append(f"SVG: {result}")
            else:
                path = folder / f"{stem}_{number}.svg"
                path.write_text(result, encoding="utf-8")
                rendering.svg = path
    return renderings


def tune_html(abc: str, synth: str = "auto", sample_rate: int = 16000) -> str:
    """Sheet music and an audio player for Jupyter (`Tune._repr_html_`).

    The SVG is inlined and the WAV embedded as base64, so the notebook keeps them. When
    a step fails the tune's text and the reason are shown instead of that step.
    """
    title = header_value(abc, "T") or ""
    parts = [
        f"<div class='seqlab-tune'><b>{html.escape(title)}</b>"
        if title
        else "<div class='seqlab-tune'>"
    ]
    try:
        svg = abc_to_svg(abc)
        # Drop the XML declaration: it is not allowed inside HTML.
        parts.append(
            "<div style='max-width:900px'>" + re.sub(r"^<\?xml[^>]*>\s*", "", svg) + "</div>"
        )
    except MusicError as error:
        parts.append(
            f"<pre>{html.escape(abc)}</pre><p><i>No sheet music: {html.escape(str(error))}</i></p>"
        )
    try:
        with tempfile.TemporaryDirectory(prefix="seqlab-") as folder:
            # 16 kHz keeps the notebook small (a reel played with repeats lasts ~90 s).
            wav = abc_to_wav(abc, Path(folder) / "tune.wav", synth=synth, sample_rate=sample_rate)
            data = base64.b64encode(wav.read_bytes()).decode("ascii")
        parts.append(f"<audio controls src='data:audio/wav;base64,{data}'></audio>")
    except MusicError as error:
        parts.append(f"<p><i>No audio: {html.escape(str(error))}</i></p>")
    parts.append("</div>")
    return "\n".join(parts)
