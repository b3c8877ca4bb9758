"""Music in ABC notation: the text side of the music lab (lecture section 7).

Everything about ABC text that is not the neural network:

* `abc`: cut text into tunes, read and write header fields (`header_value`,
  `replace_field`, ...), the `Tune` object (shows itself in Jupyter as sheet music with an
  audio player); complete a user's start headers, renumber and title generated tunes;
* `lexer`: the syntax of a line of music, as tokens (`tokenize`);
* `meter`: read the time in bars one character at a time; `MeterTracker` for
  meter-aware decoding;
* `checks`: bar lengths, repeats, AABB form, music21 parse check, `validate`, which
  generated tunes are kept (`rejection_reason`), and how much generated music is copied
  from the training tunes;
* `corpus`: the shipped irish.abc, music21's folk collections, user files; the fixed
  held-out split;
* `render`: ABC -> MIDI (music21), MIDI -> WAV (fluidsynth, timidity or `synth`),
  ABC -> SVG (verovio, in a child process).

music21 and verovio are imported only when a check or a rendering needs them.
"""

from .abc import (
    FieldLine,
    Meter,
    Split,
    Tune,
    complete_headers,
    field_lines,
    header_fields,
    header_value,
    renumber,
    clean_tune,
    strip_provenance,
    replace_field,
    split_abc,
    split_header,
    split_tunes,
    tune_title,
)
from .checks import (
    MIN_BARS,
    BarCheck,
    BarStatistics,
    Validation,
    bar_check,
    bar_statistics,
    bar_texts,
    copied_bar_fraction,
    has_aabb,
    parse_error,
    rejection_reason,
    repeat_problems,
    validate,
)
from .corpus import (
    Corpus,
    corpus_names,
    held_out_indices,
    held_out_split,
    load_corpus,
    read_abc_file,
)
from .errors import MusicError
from .lexer import Token, tokenize
from .meter import Bar, MeterTracker, bars_of
from .render import (
    Rendering,
    abc_to_midi,
    abc_to_svg,
    abc_to_svgs,
    abc_to_wav,
    find_synthesizer,
    midi_to_wav,
    plays,
    render_tunes,
)

__all__ = [
    "Bar",
    "BarCheck",
    "BarStatistics",
    "Corpus",
    "FieldLine",
    "MIN_BARS",
    "Meter",
    "MeterTracker",
    "MusicError",
    "Rendering",
    "Split",
    "Token",
    "Tune",
    "Validation",
    "abc_to_midi",
    "abc_to_svg",
    "abc_to_svgs",
    "abc_to_wav",
    "bar_check",
    "bar_statistics",
    "bar_texts",
    "bars_of",
    "complete_headers",
    "copied_bar_fraction",
    "corpus_names",
    "field_lines",
    "find_synthesizer",
    "has_aabb",
    "header_fields",
    "header_value",
    "held_out_indices",
    "held_out_split",
    "load_corpus",
    "midi_to_wav",
    "parse_error",
    "plays",
    "read_abc_file",
    "rejection_reason",
    "render_tunes",
    "renumber",
    "clean_tune",
    "strip_provenance",
    "repeat_problems",
    "replace_field",
    "split_abc",
    "split_header",
    "split_tunes",
    "tokenize",
    "tune_title",
    "validate",
]
