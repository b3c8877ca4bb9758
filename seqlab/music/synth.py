"""A small synthesizer that needs nothing outside pip: MIDI notes to a WAV file.

Used when neither fluidsynth nor timidity is installed (see `render.midi_to_wav`). Each
note is a few harmonics of its pitch under a fast attack, a gentle decay and a short
release, which sounds like a soft plucked or bowed string: plain enough to hear whether
a generated tune works, not meant to be beautiful. NumPy does the sums; the stdlib
`wave` module writes 16-bit mono PCM; `mido` reads the MIDI file (tempo changes
included, so note times come out in seconds).
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Iterable, NamedTuple

import mido
import numpy as np

from .errors import MusicError

SAMPLE_RATE = 22050
# Relative strength of the harmonics 1, 2, 3, 4: a mellow tone, mostly fundamental.
HARMONICS = (1.0, 0.45, 0.25, 0.12)
ATTACK = 0.008  # seconds from silence to full level: no click at the note start
DECAY = 0.9  # seconds for the level to fall to 1/e while the note is held
RELEASE = 0.06  # seconds from note end to silence: no click at the note end
# A tune longer than this is surely a broken file (e.g. one note ten hours long).
MAX_SECONDS = 20 * 60


class Note(NamedTuple):
    start: float  # seconds
    end: float  # seconds
    pitch: int  # MIDI note number (60 = middle C)
    velocity: int  # 1..127


def read_midi_notes(path: str | Path) -> list[Note]:
    """The notes of a MIDI file, with start and end times in seconds."""
    try:
        midi = mido.MidiFile(str(path))
    except Exception as error:  # mido raises OSError, EOFError, ValueError, KeyError ...
        raise MusicError(f"cannot read MIDI file {path}: {error}") from None
    notes: list[Note] = []
    sounding: dict[tuple[int, int], tuple[float, int]] = {}  # (channel, pitch) -> start
    now = 0.0
    for message in midi:  # iterating a MidiFile merges tracks; .time is in seconds
        now += message.time
        if message.type not in ("note_on", "note_off"):
            continue
        key = (message.channel, message.note)
        if key in sounding:  # a note_off, or a note_on that restarts a sounding note
            start, velocity = sounding.pop(key)
            notes.append(Note(start, now, message.note, velocity))
        if message.type == "note_on" and message.velocity > 0:
            sounding[key] = (now, message.velocity)
    for (_, pitch), (start, velocity) in sounding.items():  # never switched off
        notes.append(Note(start, now, pitch, velocity))
    return sorted(notes)


def synthesize(notes: Iterable[Note], sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mix the notes into one float32 signal in [-1, 1]."""
    notes = [note for note in notes if note.end > note.start]
    if not notes:
        raise MusicError("no notes to play")
    length = max(note.end for note in notes) + RELEASE
    if length > MAX_SECONDS:
        raise MusicError(f"the music lasts {length / 60:.0f} minutes; refusing to synthesize it")
    out = np.zeros(int(length * sample_rate) + 1, dtype=np.float64)
    # A tune repeats the same few pitches and lengths: make each sound once.
    sounds: dict[tuple[int, int], np.ndarray] = {}
    for note in notes:
        first = int(note.start * sample_rate)
        held = int((note.end - note.start) * sample_rate)
        key = (note.pitch, held)
        if key not in sounds:
            sounds[key] = _sound(note.pitch, held, sample_rate)
        sound = sounds[key]
        out[first : first + len(sound)] += (note.velocity / 127) * sound
    peak = np.abs(out).max()
    if peak > 0:
        out *= 0.8 / peak  # leave headroom; overlapping notes would otherwise clip
    return out.astype(np.float32)


def _sound(pitch: int, held: int, sample_rate: int) -> np.ndarray:
    """One note: `held` samples long, then the release."""
    t = np.arange(held + int(RELEASE * sample_rate)) / sample_rate
    frequency = 440.0 * 2.0 ** ((pitch - 69) / 12)
    tone = np.zeros_like(t)
    for number, strength in enumerate(HARMONICS, start=1):
        if number * frequency < sample_rate / 2:  # above Nyquist it would alias
            tone += strength * np.sin(2 * np.pi * number * frequency * t)
    envelope = np.minimum(t / ATTACK, 1.0) * np.exp(-t / DECAY)
    end = held / sample_rate
    envelope *= np.clip((end + RELEASE - t) / RELEASE, 0.0, 1.0)  # fade out after the end
    return tone * envelope


def write_wav(path: str | Path, signal: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Path:
    """Write a float signal in [-1, 1] as 16-bit mono PCM."""
    path = Path(path)
    pcm = (np.clip(signal, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(sample_rate)
        file.writeframes(pcm.tobytes())
    return path


def midi_file_to_wav(
    midi_path: str | Path, wav_path: str | Path, sample_rate: int = SAMPLE_RATE
) -> Path:
    """Read a MIDI file, synthesize it, write the WAV file."""
    return write_wav(wav_path, synthesize(read_midi_notes(midi_path), sample_rate), sample_rate)
