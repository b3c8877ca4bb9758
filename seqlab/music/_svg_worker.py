"""Child process that engraves ABC tunes as SVG with verovio.

verovio 6.4.1 kills its whole process (segmentation fault, or abort on a C++ exception)
on some malformed ABC, so seqlab never calls it in its own process. `render.Engraver`
starts this script and sends one request a line on stdin, `{"tunes": [...], "options":
{...}}` as JSON; for each tune, as soon as it is done, the script writes one JSON line to
stdout: `{"i": 0, "svg": "..."}` or `{"i": 0, "error": "..."}`. It serves requests until
stdin closes, so a server starts Python and verovio once, not once a request. If verovio
crashes, the lines already written tell the parent which tune did it; the parent starts a
new worker for the tunes after it.

This file imports nothing from seqlab, so it runs by path whatever sys.path holds.
"""

import json
import sys


def main() -> None:
    import verovio

    toolkit = verovio.toolkit()
    for line in sys.stdin:
        request = json.loads(line)
        toolkit.setOptions(request["options"])
        for index, text in enumerate(request["tunes"]):
            if not toolkit.loadData(text):
                reply = {"i": index, "error": "verovio could not read the tune"}
            else:
                reply = {"i": index, "svg": toolkit.renderToSVG(1)}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
