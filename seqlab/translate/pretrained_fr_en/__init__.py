"""The shipped French-to-English translation model (seqlab translate train --source fr --target en, then export); see the README."""
