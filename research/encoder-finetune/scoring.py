"""The replica's evaluation sets and how a set of predictions is scored, shared by
replica.py and cascade.py so both split, score and calibrate the same way."""
import numpy as np

# The thresholds tried when calibrating, in steps of 0.01.
THRESHOLDS = np.round(np.arange(0.05, 1.0, 0.01), 2)
MAX_FALSE_ALARMS = 0.03

def split(sets):
    """(name, rows) of each set reported; the first is the calibration data (our
    calibration set + the dev set's even lines)."""
    dev = sets['dev']
    return [('calibration', sets['own'] + dev[1::2]), ('dev reported half', dev[0::2]), ('dev', dev),
            ('held-out', sets['held']), ('dev-call turns', sets['calls'])]

def score(rows, predicted, threshold):
    """(accuracy on objection rows, false-alarm rate on none rows) of (category, score)
    predictions at `threshold`."""
    expect = np.array([c for _, c, _ in rows])
    got = np.array([c if s >= threshold else 'none' for c, s in predicted])
    objection = expect != 'none'
    return (got[objection] == expect[objection]).mean(), (got[~objection] != 'none').mean()

def calibrated(rows, predicted):
    """The lowest threshold keeping false alarms within the bound on `rows`."""
    return next((t for t in THRESHOLDS if score(rows, predicted, t)[1] <= MAX_FALSE_ALARMS), 1.0)

def best(rows, predicted):
    """(accuracy, threshold) of the most accurate threshold within the false-alarm bound."""
    scored = ((score(rows, predicted, t), t) for t in THRESHOLDS)
    return max((acc, t) for (acc, fa), t in scored if fa <= MAX_FALSE_ALARMS)
