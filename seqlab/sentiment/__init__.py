"""Sentiment classification, the lecture's many-to-one example: a whole sentence in, one
label (negative 0 / positive 1) out.

    data.py       the shipped data sets (MR, the UCI sentences) and the user's own files,
                  the shared tokenizer, and the fixed, seeded 10-fold split every model uses
    baselines.py  bag-of-n-grams baselines on scikit-learn (majority, TF-IDF logistic
                  regression, NBSVM) and their cross-validation
    contrast.py   a hand-written contrast set: pairs of sentences with the same words and
                  opposite labels, which no bag-of-words model can tell apart

The shipped files and their sources, citations and licenses are in `data/README.md`.
The task itself (the recurrent model, its commands) is seqlab/tasks/sentiment.py.
"""
